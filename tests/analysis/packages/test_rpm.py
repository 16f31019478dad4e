"""rpm: the three rpmdb formats on real databases (sqlite from Fedora via openshift-preflight,
BerkeleyDB from CentOS 8 via syft, NDB from SLE 15 via go-rpmdb) and their header blobs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.analysis.packages import rpm, rpmheader, rpmstore

DB = "var/lib/rpm/rpmdb.sqlite"


@pytest.fixture
def rpmfix(fixtures_dir: Path) -> Path:
    return fixtures_dir / "syft" / "rpm"


def test_fedora_sqlite_rpmdb(rpmfix: Path) -> None:
    data = (rpmfix / "openshift-preflight/sqlite" / DB).read_bytes()
    (pkg,), notes = rpm.find({DB: (0, data)})
    assert (pkg.name, pkg.version, pkg.ecosystem) == ("tzdata", "2022a-2.fc36", "rpm")
    assert pkg.key == "rpm:tzdata:noarch" and pkg.location == "/" + DB
    assert "usr/share/zoneinfo/Europe/Paris" in pkg.files
    assert len(pkg.files) == 1861
    assert notes == []


def test_header_blob_fields(rpmfix: Path) -> None:
    data = (rpmfix / "openshift-preflight/sqlite" / DB).read_bytes()
    (blob,) = rpm.read_sqlite(data)
    h = rpmheader.parse(blob)
    assert h[rpmheader.NAME] == "tzdata" and h[rpmheader.ARCH] == "noarch"
    with pytest.raises(rpmheader.HeaderError):
        rpmheader.parse(blob[:40])  # the index claims more than the blob holds


def test_a_wal_file_is_read_through_a_private_temp_copy(rpmfix: Path, tmp_path: Path, monkeypatch) -> None:
    """A database whose newest rows are still in its -wal file, made by sqlite itself."""
    src = (rpmfix / "openshift-preflight/sqlite" / DB).read_bytes()
    work = tmp_path / "db"
    work.mkdir()
    (work / "rpmdb.sqlite").write_bytes(src)
    con = sqlite3.connect(work / "rpmdb.sqlite")
    con.execute("PRAGMA wal_autocheckpoint=0")
    (blob,) = [r[0] for r in con.execute("SELECT blob FROM Packages")]
    con.execute("DELETE FROM Packages")
    con.commit()
    main, wal = (work / "rpmdb.sqlite").read_bytes(), (work / "rpmdb.sqlite-wal").read_bytes()
    con.close()
    assert wal, "sqlite kept the delete in the WAL"
    monkeypatch.setenv("LAYERSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    assert rpm.read_sqlite(main) == [blob]  # without the WAL the deleted row is still there
    found, _ = rpm.find({DB: (0, main), DB + "-wal": (0, wal)})
    assert found == []  # with it, the delete counts
    assert list((tmp_path / "cache").iterdir()) == []  # the temp copy is removed


def test_broken_databases_are_notes(rpmfix: Path) -> None:
    bdb = (rpmfix / "redhat/Packages").read_bytes()
    ndb = (rpmfix / "go-rpmdb/sle15-bci/Packages.db").read_bytes()
    view = {
        DB: (0, (rpmfix / "openshift-preflight/sqlite-corrupt" / DB).read_bytes()),
        "usr/lib/sysimage/rpm/rpmdb.sqlite": (
            0,
            (rpmfix / "openshift-preflight/sqlite-fail-list-pkg" / DB).read_bytes(),
        ),
        "var/lib/rpm/Packages": (0, bdb[: len(bdb) - 4096]),  # its overflow page cut off
        "usr/lib/sysimage/rpm/Packages.db": (0, ndb[:5000]),  # slot pages cut off
        "usr/share/rpm/Packages": (0, b"\0" * 4096),
    }
    found, notes = rpm.find(view)
    assert found == []
    text = "\n".join(notes)
    assert "/var/lib/rpm/rpmdb.sqlite: not a readable rpm sqlite database" in text
    assert "/usr/lib/sysimage/rpm/rpmdb.sqlite: not a readable rpm sqlite database" in text
    assert "/var/lib/rpm/Packages: BerkeleyDB overflow chain broken at page 3" in text
    assert "/usr/lib/sysimage/rpm/Packages.db: NDB package 1: the blob is cut off" in text
    assert "/usr/share/rpm/Packages: not a BerkeleyDB hash database" in text
    assert all("count as in no package" in n for n in notes)


def test_berkeleydb_packages_of_centos(rpmfix: Path) -> None:
    """`rpm --initdb` on centos:8, then dive 0.9.2 installed (syft's fixture)."""
    (pkg,), notes = rpm.find({"var/lib/rpm/Packages": (0, (rpmfix / "redhat/Packages").read_bytes())})
    assert (pkg.name, pkg.version, pkg.key) == ("dive", "0.9.2-1", "rpm:dive:x86_64")
    assert pkg.files == ("usr/local/bin/dive",) and pkg.location == "/var/lib/rpm/Packages"
    assert notes == []


def test_ndb_packages_of_sle15(rpmfix: Path) -> None:
    """A SUSE Linux Enterprise 15 SP3 BCI image's `Packages.db` (go-rpmdb's fixture)."""
    path = "usr/lib/sysimage/rpm/Packages.db"
    found, notes = rpm.find({path: (0, (rpmfix / "go-rpmdb/sle15-bci/Packages.db").read_bytes())})
    by_name = {p.name: p for p in found}
    assert len(found) == 35 and notes == []
    assert by_name["bash"].version == "4.4-19.6.1" and by_name["rpm-ndb"].key == "rpm:rpm-ndb:x86_64"
    assert "bin/bash" in by_name["bash"].files or "usr/bin/bash" in by_name["bash"].files
    assert by_name["sles-release"].version.startswith("15.3-")


def test_both_byte_orders_of_berkeleydb(rpmfix: Path) -> None:
    """A big-endian database (made here by swapping every header field the reader uses)."""
    little = bytearray((rpmfix / "redhat/Packages").read_bytes())
    big = bytearray(little)
    size = 4096
    for n in range(len(little) // size):
        b = n * size
        fields = [(12, 4), (20, 4), (32, 4)] if n == 0 else [(16, 4), (20, 2), (22, 2)]
        for off, width in fields:
            big[b + off : b + off + width] = little[b + off : b + off + width][::-1]
        if n and little[b + 25] in (2, 13):
            entries = int.from_bytes(little[b + 20 : b + 22], "little")
            for k in range(entries):
                at = b + 26 + 2 * k
                big[at : at + 2] = little[at : at + 2][::-1]
                item = b + int.from_bytes(little[at : at + 2], "little")
                if little[item] == 3:
                    for off in (4, 8):
                        big[item + off : item + off + 4] = little[item + off : item + off + 4][::-1]
    assert rpmstore.read_bdb(bytes(big)) == rpmstore.read_bdb(bytes(little))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_databases_raise_only_the_store_error(rpmfix: Path, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["redhat/Packages", "go-rpmdb/sle15-bci/Packages.db"]))
    raw = bytearray((rpmfix / kind).read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    reader = rpmstore.read_bdb if kind.endswith("Packages") else rpmstore.read_ndb
    try:
        blobs = reader(bytes(raw[:cut]))
    except rpmstore.RpmStoreError:
        return
    assert all(isinstance(b, bytes) for b in blobs)
