"""rpm: the sqlite rpmdb and its header blobs on a real Fedora database (openshift-preflight);
BerkeleyDB and NDB databases are reported, not read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from layerscope.analysis.packages import rpm, rpmheader

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
    view = {
        DB: (0, (rpmfix / "openshift-preflight/sqlite-corrupt" / DB).read_bytes()),
        "usr/lib/sysimage/rpm/rpmdb.sqlite": (
            0,
            (rpmfix / "openshift-preflight/sqlite-fail-list-pkg" / DB).read_bytes(),
        ),
        "var/lib/rpm/Packages": (0, (rpmfix / "redhat/Packages").read_bytes()),
        "usr/lib/sysimage/rpm/Packages.db": (0, (rpmfix / "go-rpmdb/sle15-bci/Packages.db").read_bytes()),
    }
    found, notes = rpm.find(view)
    assert found == []
    text = "\n".join(notes)
    assert "/var/lib/rpm/rpmdb.sqlite: not a readable rpm sqlite database" in text
    assert "/usr/lib/sysimage/rpm/rpmdb.sqlite: not a readable rpm sqlite database" in text
    assert "/var/lib/rpm/Packages: BerkeleyDB rpmdb" in text and "not supported" in text
    assert "/usr/lib/sysimage/rpm/Packages.db: NDB rpmdb" in text
