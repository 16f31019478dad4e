"""dpkg attribution on images whose layers hold a real dpkg database (the host's dpkg
installing, upgrading, diverting and purging packages built by dpkg-deb) on a merged-/usr
root, with hardlinks and a Debian-style python3-* package that ships a dist-info."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from layerscope.api import analyze
from layerscope.model import Analysis
from tests.support import debs
from tests.support.factory import ImageSpec, layer_tar
from tests.support.pyinstall import Snapshot, layer_entries, snapshot

pytestmark = pytest.mark.skipif(not debs.available(), reason="dpkg, dpkg-deb and dpkg-divert are needed")
DIST = "usr/lib/python3/dist-packages"


def _dpkg_l(root: Path, pkg: str) -> tuple[int, int]:
    """What `dpkg -L pkg` names that is a regular file, as a shell in the container sees it:
    (bytes with hardlinks and path aliases once, files)."""
    inodes: dict[int, int] = {}
    files = 0
    for line in (root / f"var/lib/dpkg/info/{pkg}.list").read_text().splitlines():
        p = root / line.lstrip("/")
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            inodes[st.st_ino] = st.st_size
            files += 1
    return sum(inodes.values()), files


@pytest.fixture(scope="module")
def deb_image(
    wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Analysis, Path, list[Snapshot]]:
    tmp = tmp_path_factory.mktemp("debimg")
    out = tmp / "debs"
    out.mkdir()
    root = debs.DpkgRoot.create(tmp / "root")
    states = [snapshot(root.path)]
    core1 = debs.build_deb(
        out,
        "coreutils-x",
        "1.0",
        {"/bin/cat": b"c" * 4000, "/usr/share/doc/coreutils-x/copyright": b"d" * 100, "/usr/bin/hl1": b"h" * 5000},
        links={"/usr/bin/hl2": "/usr/bin/hl1"},
    )
    # with a second file: a package all of whose files another one replaced would disappear from dpkg
    tool = debs.build_deb(out, "toolpkg", "1.0", {"/usr/bin/tool": b"t" * 700, "/usr/share/toolpkg/x": b"x" * 10})
    leftover = debs.build_deb(out, "leftover", "0.9", {"/usr/lib/leftover/data": b"l" * 3000})
    root.install(core1, tool, leftover)
    states.append(snapshot(root.path))
    # a python3-* package as Debian builds one: the module and its dist-info, bytecode compiled after install
    stage = tmp / "stage"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--target",
         str(stage / DIST), str(wheels["demo1"])],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil_files = {
        "/" + str(p.relative_to(stage)): p.read_bytes()
        for p in stage.rglob("*")
        if p.is_file() and "bin" not in p.parts
    }
    root.install(debs.build_deb(out, "python3-demo", "1.0-1", shutil_files))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root.path / DIST)], check=True)
    states.append(snapshot(root.path))
    root.divert("/usr/bin/tool", "/usr/bin/tool.orig", "mytool")
    root.install(
        debs.build_deb(out, "mytool", "2.0", {"/usr/bin/tool": b"m" * 900}),
        debs.build_deb(
            out,
            "coreutils-x",
            "2.0",
            {"/bin/cat": b"C" * 6000, "/usr/share/doc/coreutils-x/copyright": b"d" * 100, "/usr/bin/hl1": b"h" * 5000},
            links={"/usr/bin/hl2": "/usr/bin/hl1"},
        ),
    )
    states.append(snapshot(root.path))
    root.remove("leftover")
    states.append(snapshot(root.path))
    layers = [layer_tar(layer_entries(states[0], ""))]
    layers += [layer_tar(layer_entries(after, "", before)) for before, after in pairwise(states)]
    return analyze(ImageSpec(layers).docker_archive(str(tmp / "img.tar"))), root.path, states


def test_sizes_and_file_counts_agree_with_dpkg_lists(deb_image) -> None:
    a, root, _ = deb_image
    by = {p.name: p for p in a.packages.packages if p.ecosystem == "deb"}
    assert set(by) == {"coreutils-x", "toolpkg", "mytool", "python3-demo"}
    for name in ("coreutils-x", "mytool"):  # toolpkg's list names a diverted path: see the diversion test
        assert (by[name].size, by[name].files) == _dpkg_l(root, name), name
    # /bin/cat is stored at usr/bin/cat (bin -> usr/bin), hl1 and hl2 are one inode
    assert (by["coreutils-x"].size, by["coreutils-x"].files) == (6000 + 100 + 5000, 4)


def test_versions_and_installing_layers(deb_image) -> None:
    a, _, _ = deb_image
    got = {p.name: (p.version, p.layer, p.location) for p in a.packages.packages if p.ecosystem == "deb"}
    assert got == {
        "coreutils-x": ("2.0", 3, "/var/lib/dpkg/status"),
        "toolpkg": ("1.0", 1, "/var/lib/dpkg/status"),
        "mytool": ("2.0", 3, "/var/lib/dpkg/status"),
        "python3-demo": ("1.0-1", 2, "/var/lib/dpkg/status"),
    }


def test_diverted_file_belongs_to_the_package_that_shipped_it(deb_image) -> None:
    a, root, _ = deb_image
    by = {p.name: p for p in a.packages.packages}
    assert (root / "usr/bin/tool.orig").stat().st_size == 700
    assert (by["toolpkg"].size, by["mytool"].size) == (710, 900)
    assert not (root / "var/lib/dpkg/info/mytool.list").read_text().count("tool.orig")


def test_debian_python_package_is_counted_once(deb_image) -> None:
    a, root, _ = deb_image
    by = {(p.ecosystem, p.name): p for p in a.packages.packages}
    dist = by[("python", "Demo-Pkg")]
    assert (dist.version, dist.provided_by, dist.size, dist.files) == ("1.0", "deb:python3-demo", 0, 0)
    deb = by[("deb", "python3-demo")]
    listed, nfiles = _dpkg_l(root, "python3-demo")
    pyc = [p for p in (root / DIST).rglob("*.pyc")]
    assert pyc  # compiled after install: in no .list, owned through their .py
    assert (deb.size, deb.files) == (listed + sum(p.stat().st_size for p in pyc), nfiles + len(pyc))
    assert dict(deb.layers) == {2: deb.size}


def test_upgrade_and_purge_leave_dead_bytes(deb_image) -> None:
    a, _, _ = deb_image
    removed = {(x.name, x.version): x for x in a.packages.removed}
    old = removed[("coreutils-x", "1.0")]
    assert (old.dead_bytes, old.layer, old.hidden_by, old.replaced_by) == (4000 + 100 + 5000, 1, (3,), "2.0")
    gone = removed[("leftover", "0.9")]
    assert (gone.dead_bytes, gone.layer, gone.hidden_by, gone.replaced_by) == (3000, 1, (4,), None)
    core = next(p for p in a.packages.packages if p.name == "coreutils-x")
    assert core.dead_bytes == 9100
    # the diversion renamed toolpkg's file (a new copy in L3): the L1 bytes under the old name are dead
    tool = next(p for p in a.packages.packages if p.name == "toolpkg")
    assert tool.dead_bytes == 700


def test_every_byte_once(deb_image) -> None:
    a, _, _ = deb_image
    r = a.packages
    assert sum(p.size for p in r.packages) + sum(b for _, b in r.unattributed) == a.totals.final_size
    assert sum(c.bytes for c in r.categories) == a.totals.final_size
    cats = {c.name: c.bytes for c in r.categories}
    assert cats["tests-and-docs"] >= 100  # /usr/share/doc/coreutils-x/copyright
