"""rpm: the rpmdb under `var/lib/rpm`, `usr/lib/sysimage/rpm` or `usr/share/rpm`, in any
of its three formats: sqlite `rpmdb.sqlite` (Fedora >= 33, RHEL 9+), BerkeleyDB `Packages`
(RHEL/CentOS 5-8, Amazon Linux 2) and NDB `Packages.db` (SUSE); the last two are read by
rpmstore.py. Each yields rpm header blobs, parsed by rpmheader.py.

The database is opened from memory (`sqlite3.Connection.deserialize`) with its header
switched from WAL to rollback mode, which an in-memory database needs; only when a
non-empty `-wal` file is beside it (committed rows not yet in the main file) are both
written to a private temp dir under the cache dir, read, and deleted.
"""

from __future__ import annotations

import os
import posixpath
import sqlite3
import tempfile

from layerscope.analysis.packages import rpmheader, rpmstore
from layerscope.analysis.packages.common import RPM, Captured, Found, root_path
from layerscope.analysis.packages.purl import encode
from layerscope.analysis.packages.release import Release
from layerscope.layers.layercache import cache_root

DIRS = ("var/lib/rpm/", "usr/lib/sysimage/rpm/", "usr/share/rpm/")
SQLITE = "rpmdb.sqlite"
_SKIPPED = "its rpm packages are not listed and their files count as in no package"
MAX_BLOB = 64 << 20  # sqlite's longest string or blob here: an rpm header is at most a few MB
MAX_STEPS = 50_000_000  # sqlite VM steps per database (a real rpmdb needs a few per row)
_STEP = 10_000  # steps between two calls of the progress handler


def is_rpm_meta(path: str) -> bool:
    return path.startswith(DIRS)


def find(view: Captured) -> tuple[list[Found], list[str]]:
    found: list[Found] = []
    notes: list[str] = []
    for path in sorted(view):
        base = posixpath.basename(path)
        try:
            if base == SQLITE:
                wal = view.get(path + "-wal")
                blobs = read_sqlite(view[path][1], wal[1] if wal else b"")
            elif base == "Packages":
                blobs = rpmstore.read_bdb(view[path][1])
            elif base == "Packages.db":
                blobs = rpmstore.read_ndb(view[path][1])
            else:
                continue
        except sqlite3.Error as err:
            notes.append(f"/{path}: not a readable rpm sqlite database ({err}); {_SKIPPED}")
            continue
        except rpmstore.RpmStoreError as err:
            notes.append(f"/{path}: {err}; {_SKIPPED}")
            continue
        bad = 0
        for blob in blobs:
            try:
                pkg = rpmheader.package(blob)
            except rpmheader.HeaderError:
                bad += 1
                continue
            if pkg.name == "gpg-pubkey":
                continue  # imported signing keys, not software
            files = tuple(p for p in (root_path(f) for f in pkg.files) if p is not None)
            epoch = "" if pkg.epoch is None else str(pkg.epoch)
            qualifiers = (("arch", pkg.arch), ("epoch", epoch), ("upstream", pkg.source_rpm))
            key = f"{RPM}:{pkg.name}:{pkg.arch}"
            found.append(Found(RPM, pkg.name, pkg.version, "/" + path, key, files, (path,), qualifiers=qualifiers))
        if bad:
            notes.append(f"/{path}: {bad} damaged package header(s) skipped")
    return found, notes


def purl(f: Found, release: Release | None) -> str | None:
    """`pkg:rpm/<vendor>/name@version-release?arch=..&distro=..&epoch=N&upstream=..`: the epoch
    is a qualifier, not part of the version (the spec's rpm type). The vendor is the
    os-release ID as syft names it (`rhel` is `redhat`, any `opensuse*` is `opensuse`); none
    without an os-release, which still gives a purl (syft's too)."""
    vendor = "" if release is None else release.id.lower()
    if vendor == "rhel":
        vendor = "redhat"
    elif vendor.startswith("opensuse"):
        vendor = "opensuse"
    quals = dict(f.qualifiers)
    epoch = quals.get("epoch", "")
    version = f.version.removeprefix(f"{epoch}:") if epoch else f.version
    distro = () if release is None else (("distro", release.distro),)
    return encode("rpm", vendor, f.name, version, (*f.qualifiers, *distro))


def read_sqlite(db: bytes, wal: bytes = b"") -> list[bytes]:
    """Every header blob of the `Packages` table."""
    if wal:
        return _read_from_files(db, wal)
    patched = bytearray(db)
    if len(patched) > 19 and patched[18] == 2:  # WAL mode cannot be used in memory
        patched[18] = patched[19] = 1
    con = sqlite3.connect(":memory:")
    try:
        con.deserialize(bytes(patched))
        return _blobs(con, len(db))
    finally:
        con.close()


def _blobs(con: sqlite3.Connection, size: int) -> list[bytes]:
    """The blobs of the real table `Packages`, with work and memory bounded by the file's size.

    A hostile database can make `Packages` a view over an endless recursive query, or give
    it a generated column that computes huge blobs: views, virtual tables and generated
    columns are refused, functions in the schema are untrusted, the VM is stopped after a
    budget of steps, and the blobs may not add up to more bytes than the file holds.
    """
    con.execute("PRAGMA trusted_schema = OFF")
    con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, min(size, MAX_BLOB) + 1024)
    steps = 0

    def budget() -> int:
        nonlocal steps
        steps += 1
        return 1 if steps > MAX_STEPS // _STEP else 0  # non-zero aborts the statement

    con.set_progress_handler(budget, _STEP)
    kinds = con.execute(
        "SELECT type, sql FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE AND type IN ('table', 'view')"
    ).fetchall()
    if not kinds:
        raise sqlite3.DatabaseError("no Packages table")
    kind, sql = kinds[0]
    if kind != "table" or str(sql or "").lstrip().upper().startswith("CREATE VIRTUAL"):
        raise sqlite3.DatabaseError(f"Packages is a {'virtual table' if kind == 'table' else kind}, not a table")
    columns = {row[1].lower(): row[6] for row in con.execute("PRAGMA table_xinfo(Packages)")}
    if columns.get("blob", 0) != 0:
        raise sqlite3.DatabaseError("Packages.blob is a generated column")
    out: list[bytes] = []
    total = 0
    for (blob,) in con.execute("SELECT blob FROM main.Packages"):
        if blob is None:
            continue
        data = bytes(blob)
        total += len(data)
        if total > size:
            raise sqlite3.DatabaseError(f"its Packages rows hold more bytes than the {size}-byte file")
        out.append(data)
    return out


def _cache_dir() -> str:
    path = cache_root()
    os.makedirs(path, exist_ok=True)
    return path


def _read_from_files(db: bytes, wal: bytes) -> list[bytes]:
    with tempfile.TemporaryDirectory(prefix="rpmdb-", dir=_cache_dir()) as tmp:
        main = os.path.join(tmp, SQLITE)
        with open(main, "wb") as f:
            f.write(db)
        with open(main + "-wal", "wb") as f:
            f.write(wal)
        con = sqlite3.connect(main)
        try:
            return _blobs(con, len(db) + len(wal))
        finally:
            con.close()
