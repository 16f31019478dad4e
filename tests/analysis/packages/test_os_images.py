"""apk and rpm attribution on images that hold real package databases (syft's Alpine
database and CentOS BerkeleyDB rpmdb, preflight's Fedora sqlite rpmdb, go-rpmdb's SLE NDB
rpmdb) next to the files they list."""

from __future__ import annotations

from pathlib import Path

from layerscope.analysis.packages import apk
from layerscope.api import analyze
from tests.support.factory import ImageSpec, d, f, hard, layer_tar, sym


def test_apk_packages_own_their_listed_files(fixtures_dir: Path, tmp_path: Path) -> None:
    db = (fixtures_dir / "syft/apk/multiple-2/lib/apk/db/installed").read_bytes()
    found, _ = apk.parse(db.decode(), "lib/apk/db/installed")
    by = {p.name: p for p in found}
    entries = [d("lib"), d("lib/apk"), d("lib/apk/db"), f("lib/apk/db/installed", db), d("bin"), d("usr"), d("usr/bin")]
    entries += [f("lib/ld-musl-x86_64.so.1", b"m" * 600_000), f("bin/busybox", b"b" * 800_000)]
    entries += [sym("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"), f("usr/bin/mine", b"z" * 50)]
    img = ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "alpine.tar"))
    assert "lib/libc.musl-x86_64.so.1" in by["musl"].files
    a = analyze(img)
    got = {p.name: (p.version, p.size, p.files, p.layer, p.ecosystem) for p in a.packages.packages if p.size}
    assert got == {
        "busybox": ("1.35.0-r17", 800_000, 1, 0, "apk"),
        "musl": ("1.2.3-r0", 600_000, 1, 0, "apk"),
    }
    assert len(a.packages.packages) == 14  # every installed package is listed, sized or not
    assert dict(a.packages.unattributed) == {"/lib": len(db), "/usr": 50}


def test_rpm_packages_from_a_sqlite_rpmdb(fixtures_dir: Path, tmp_path: Path) -> None:
    db = (fixtures_dir / "syft/rpm/openshift-preflight/sqlite/var/lib/rpm/rpmdb.sqlite").read_bytes()
    zone = "usr/share/zoneinfo"
    entries = [d("usr"), d("usr/lib"), d("usr/lib/sysimage"), d("usr/lib/sysimage/rpm")]
    entries += [f("usr/lib/sysimage/rpm/rpmdb.sqlite", db), d("var"), d("var/lib")]
    entries += [sym("var/lib/rpm", "../../usr/lib/sysimage/rpm")]
    entries += [d("usr/share"), d(zone), d(f"{zone}/Europe"), f(f"{zone}/Europe/Paris", b"p" * 2000)]
    entries += [hard(f"{zone}/Europe/Monaco", f"{zone}/Europe/Paris"), f(f"{zone}/zone.tab", b"t" * 300)]
    img = ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "fedora.tar"))
    (tz,) = analyze(img).packages.packages
    assert (tz.name, tz.version, tz.ecosystem, tz.location) == (
        "tzdata",
        "2022a-2.fc36",
        "rpm",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    )
    # Monaco is a hardlink of Paris: two files, the bytes once
    assert (tz.size, tz.files, tz.category) == (2300, 3, "os-packages")


def test_rpm_packages_from_a_berkeleydb_rpmdb(fixtures_dir: Path, tmp_path: Path) -> None:
    """CentOS 8's format: dive 0.9.2 installed by rpm owns /usr/local/bin/dive."""
    bdb = (fixtures_dir / "syft/rpm/redhat/Packages").read_bytes()
    entries = [d("var"), d("var/lib"), d("var/lib/rpm"), f("var/lib/rpm/Packages", bdb)]
    entries += [d("usr"), d("usr/local"), d("usr/local/bin"), f("usr/local/bin/dive", b"d" * 12_000)]
    entries += [f("usr/local/bin/mine", b"m" * 70)]
    a = analyze(ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "centos.tar")))
    (dive,) = a.packages.packages
    assert (dive.name, dive.version, dive.ecosystem, dive.size, dive.files) == ("dive", "0.9.2-1", "rpm", 12_000, 1)
    assert dict(a.packages.unattributed)["/usr"] == 70
    assert not any("rpm" in n for n in a.packages.notes)


def test_a_damaged_rpmdb_is_a_note_not_an_error(fixtures_dir: Path, tmp_path: Path) -> None:
    ndb = (fixtures_dir / "syft/rpm/go-rpmdb/sle15-bci/Packages.db").read_bytes()
    entries = [d("usr"), d("usr/lib"), d("usr/lib/sysimage"), d("usr/lib/sysimage/rpm")]
    entries += [f("usr/lib/sysimage/rpm/Packages.db", ndb[:6000])]
    a = analyze(ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "sle.tar")))
    assert a.packages.packages == ()
    assert any("Packages.db: NDB package" in n and "no package" in n for n in a.packages.notes)


def test_bytecode_next_to_a_listed_py_is_inferred_in_every_ecosystem(tmp_path: Path) -> None:
    """The rule Debian's py3compile needs, for apk, rpm and conda too: a `.pyc` no file list
    names goes with the package that lists its `.py`, counted in inferred_bytes, with a note."""
    from tests.analysis.packages.test_hostile_packages import TABLE, header_blob, sqlite_db

    site = "usr/lib/python3.11/site-packages"
    py, pyc = b"p" * 1000, b"c" * 700
    apk_db = f"P:pyapk\nV:1.0-r0\nA:x86_64\nF:{site}/pyapk\nR:mod.py\n\n".encode()
    rpm_db = sqlite_db(tmp_path, [TABLE], [header_blob("pyrpm", files=(f"/{site}/pyrpm/mod.py",))])
    conda_meta = b'{"name": "pyconda", "version": "1.0", "files": ["lib/python3.11/site-packages/pyconda/mod.py"]}'
    entries = [f("lib/apk/db/installed", apk_db), f("var/lib/rpm/rpmdb.sqlite", rpm_db)]
    entries += [f("opt/conda/conda-meta/pyconda-1.0-0.json", conda_meta)]
    for top, name in ((site, "pyapk"), (site, "pyrpm"), ("opt/conda/lib/python3.11/site-packages", "pyconda")):
        entries += [f(f"{top}/{name}/mod.py", py), f(f"{top}/{name}/__pycache__/mod.cpython-311.pyc", pyc)]
    a = analyze(ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "img.tar")))
    by = {p.name: p for p in a.packages.packages}
    meta = len(conda_meta)  # a conda package owns its conda-meta record (apk's and rpm's databases are shared)
    for name, ecosystem, extra in (("pyapk", "apk", 0), ("pyrpm", "rpm", 0), ("pyconda", "conda", meta)):
        p = by[name]
        assert (p.ecosystem, p.size, p.files, p.inferred_bytes) == (ecosystem, 1700 + extra, 2 + bool(extra), 700), p
        assert len(p.notes) == 1 and "bytecode compiled from .py files its file list names" in p.notes[0], p.notes
