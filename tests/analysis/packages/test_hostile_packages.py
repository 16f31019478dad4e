"""Package databases and trees built to exhaust memory or time: rpmdb bombs (a BerkeleyDB
whose values share one long overflow chain, NDB slots sharing one blob, an sqlite
`Packages` that is a view over an endless query or computes its blobs) and symlinks that
double the work of resolving at every level. Each is read in-process and through the CLI
under a timeout and a memory limit (tests/support/hostile.py): the database is skipped
with a note, the image still reads."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from layerscope.analysis.packages import rpm, rpmstore
from layerscope.analysis.packages.resolve import MAX_HOPS, Resolver
from tests.support.factory import ImageSpec, d, f, layer_tar, sym
from tests.support.hostile import Sandbox, assert_clean

PAGE = 4096


def header_blob(name: str, version: str = "1.0", files: tuple[str, ...] = ()) -> bytes:
    """An rpm header blob: index entries {tag, type, offset, count}, then the data (rpmheader.py)."""
    entries: list[tuple[int, int, bytes, int]] = [
        (1000, 6, name.encode() + b"\0", 1),
        (1001, 6, version.encode() + b"\0", 1),
        (1002, 6, b"1\0", 1),
        (1022, 6, b"noarch\0", 1),
    ]
    if files:
        dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in files})
        entries.append((1118, 8, b"".join(x.encode() + b"\0" for x in dirs), len(dirs)))
        entries.append((1117, 8, b"".join(p.rsplit("/", 1)[1].encode() + b"\0" for p in files), len(files)))
        idx = [dirs.index(p.rsplit("/", 1)[0] + "/") for p in files]
        entries.append((1116, 4, struct.pack(f">{len(idx)}I", *idx), len(idx)))
    index, data = b"", b""
    for tag, typ, value, count in entries:
        while typ == 4 and len(data) % 4:
            data += b"\0"
        index += struct.pack(">iIiI", tag, typ, len(data), count)
        data += value
    return struct.pack(">II", len(entries), len(data)) + index + data


def bdb(values: list[tuple[int, int]], overflow: dict[int, tuple[int, bytes]]) -> bytes:
    """A little-endian BerkeleyDB hash file: page 1 holds key/value items, each value an
    off-page item (first overflow page, total length); `overflow` maps page -> (next, data)."""
    pages = max([1, *overflow]) + 1
    db = bytearray(PAGE * pages)
    struct.pack_into("<I", db, 12, 0x061561)
    struct.pack_into("<I", db, 20, PAGE)
    db[25] = 8  # hash metadata
    struct.pack_into("<I", db, 32, pages - 1)
    base = PAGE
    db[base + 25] = 13  # hash page
    struct.pack_into("<H", db, base + 20, 2 * len(values))
    key = PAGE - 16
    db[base + key] = 1  # one key item (H_KEYDATA) for every pair: keys are not read
    items: dict[tuple[int, int], int] = {}  # equal values share one off-page item, as offsets may
    for k, value in enumerate(values):
        if value not in items:
            items[value] = key - 12 * (len(items) + 1)
            db[base + items[value]] = 3  # H_OFFPAGE
            struct.pack_into("<II", db, base + items[value] + 4, *value)
        assert 26 + 4 * len(values) < items[value]
        struct.pack_into("<HH", db, base + 26 + 4 * k, key, items[value])
    for number, (nxt, data) in overflow.items():
        b = number * PAGE
        db[b + 25] = 7
        struct.pack_into("<I", db, b + 16, nxt)
        struct.pack_into("<H", db, b + 22, len(data))
        db[b + 26 : b + 26 + len(data)] = data
    return bytes(db)


def chain(first: int, data: bytes) -> dict[int, tuple[int, bytes]]:
    size = PAGE - 26
    parts = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return {first + i: (first + i + 1 if i + 1 < len(parts) else 0, p) for i, p in enumerate(parts)}


def ndb(slots: list[tuple[int, int]], blobs: dict[int, tuple[int, bytes]], size: int) -> bytes:
    """An NDB Packages.db: one slot page; slots (package index, block); blobs at block -> (index, data)."""
    db = bytearray(size)
    struct.pack_into("<4I", db, 0, int.from_bytes(b"RpmP", "little"), 0, 0, 1)
    for k in range(2, PAGE // 16):
        index, block = slots[k - 2] if k - 2 < len(slots) else (0, 0)
        struct.pack_into("<4I", db, 16 * k, int.from_bytes(b"Slot", "little"), index, block, 1)
    for block, (index, data) in blobs.items():
        struct.pack_into("<4I", db, block * 16, int.from_bytes(b"BlbS", "little"), index, 0, len(data))
        db[block * 16 + 16 : block * 16 + 16 + len(data)] = data
    return bytes(db)


def sqlite_db(tmp: Path, schema: list[str], rows: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    path = tmp / f"rpmdb-{len(list(tmp.iterdir()))}.sqlite"
    con = sqlite3.connect(path)
    for stmt in schema:
        con.execute(stmt)
    for blob in rows:
        con.execute("INSERT INTO Packages (blob) VALUES (?)", (blob,))
    con.commit()
    con.close()
    return path.read_bytes()


TABLE = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
ENDLESS_VIEW = (
    "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT x AS hnum, zeroblob(1000000) AS blob FROM c"
)
GENERATED = (
    "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, x INTEGER, "
    "blob BLOB GENERATED ALWAYS AS (zeroblob(50000000 + x)) VIRTUAL)"
)


# -- in process: the stores refuse, never assemble ---------------------------------------------


def test_bdb_values_still_read_and_a_shared_overflow_chain_is_refused() -> None:
    good = header_blob("bash", files=("/usr/bin/bash",))
    db = bdb([(2, len(good))], chain(2, good))
    assert rpmstore.read_bdb(db) == [good]
    long = bytes(PAGE * 200)  # one 800 kB chain; 150 values pointing at it would assemble 120 MB
    db = bdb([(2, len(long))] * 150, chain(2, long))
    with pytest.raises(rpmstore.RpmStoreError, match="used twice"):
        rpmstore.read_bdb(db)


def test_bdb_value_longer_than_the_file_is_refused() -> None:
    db = bdb([(2, (1 << 32) - 1)], chain(2, b"x" * 100))
    with pytest.raises(rpmstore.RpmStoreError, match="bytes in a file of"):
        rpmstore.read_bdb(db)


def test_ndb_slots_sharing_one_blob_are_refused() -> None:
    good = header_blob("zypper")
    assert rpmstore.read_ndb(ndb([(1, PAGE // 16)], {PAGE // 16: (1, good)}, PAGE * 2)) == [good]
    big = bytes(PAGE * 100)
    db = ndb([(1, PAGE // 16)] * 200, {PAGE // 16: (1, big)}, PAGE * 102)
    with pytest.raises(rpmstore.RpmStoreError, match="more bytes than"):
        rpmstore.read_ndb(db)


def test_sqlite_table_still_reads(tmp_path: Path) -> None:
    blob = header_blob("tzdata", files=("/usr/share/zoneinfo/UTC",))
    (pkg,), notes = rpm.find({"var/lib/rpm/rpmdb.sqlite": (0, sqlite_db(tmp_path, [TABLE], [blob]))})
    assert (pkg.name, pkg.files, notes) == ("tzdata", ("usr/share/zoneinfo/UTC",), [])


@pytest.mark.parametrize(
    "schema, expect",
    [
        ([ENDLESS_VIEW], "is a view"),
        ([GENERATED, "INSERT INTO Packages (x) VALUES (1)"], "generated column"),
        (["CREATE VIRTUAL TABLE Packages USING fts4(blob)"], "virtual table"),
    ],
    ids=["endless-view", "generated-blob", "virtual-table"],
)
def test_sqlite_packages_that_is_no_plain_table_is_a_note(tmp_path: Path, schema: list[str], expect: str) -> None:
    found, notes = rpm.find({"var/lib/rpm/rpmdb.sqlite": (0, sqlite_db(tmp_path, schema))})
    assert found == []
    assert len(notes) == 1 and expect in notes[0] and "not a readable rpm sqlite database" in notes[0], notes


def test_sqlite_rows_larger_than_the_file_are_refused(tmp_path: Path) -> None:
    """A default expression cannot inflate a stored row, but the byte budget holds whatever made them."""
    blob = header_blob("a")
    data = sqlite_db(tmp_path, [TABLE], [blob] * 3)
    con = sqlite3.connect(":memory:")
    con.deserialize(data)
    assert len(rpm._blobs(con, len(data))) == 3
    with pytest.raises(sqlite3.DatabaseError, match="more bytes than"):
        rpm._blobs(con, 2 * len(blob))
    con.close()


# -- symlinks that double the work at every level ----------------------------------------------


def doubling_links(n: int) -> dict[str, str]:
    """l0 -> ., lK -> l(K-1)/l(K-1): resolving lK naively takes 2**K steps."""
    return {"l0": ".", **{f"l{k}": f"l{k - 1}/l{k - 1}" for k in range(1, n + 1)}}


class _Rec:
    def __init__(self, link: str) -> None:
        self.type, self.linkname = "symlink", link


class _Node:
    def __init__(self, link: str) -> None:
        self.record = _Rec(link)


def test_resolver_counts_hops_as_the_kernel_and_remembers_links() -> None:
    nodes = {p: _Node(t) for p, t in doubling_links(200).items()}
    r = Resolver(nodes)  # type: ignore[arg-type]
    # l4 takes 2**5 - 1 = 31 hops (within the kernel's 40), l5 takes 63: a loop, left as written
    assert r.file("l4/x") == "x"
    assert r.file("l5/x") == "l5/x"
    assert r.file("l200/l200/x") == "l200/l200/x"  # 2**201 hops if followed naively: immediate here
    deep = "/".join(["l1"] * 5000) + "/x"  # 5000 components, 3 hops each
    assert r.file(deep) == deep
    assert r.file("/".join(["l1"] * 13) + "/x") == "x"  # 39 hops: still resolved
    assert r.file("/".join(["l1"] * 14) + "/x") == "/".join(["l1"] * 14) + "/x"  # 42 hops
    assert MAX_HOPS == 40


def test_resolver_follows_ordinary_links() -> None:
    links = {"bin": "usr/bin", "usr/lib64": "lib", "lib": "/usr/lib", "a": "b", "b": "a"}
    nodes = {p: _Node(t) for p, t in links.items()}
    r = Resolver(nodes)  # type: ignore[arg-type]
    assert r.file("bin/tar") == "usr/bin/tar"
    assert r.file("lib/x/y.so") == "usr/lib/x/y.so"
    assert r.file("usr/lib64/z") == "usr/lib/z"
    assert r.file("a/loop") == "a/loop"  # a -> b -> a: a loop stays as written
    assert r.file("bin") == "bin"  # the last component is the listed path itself


# -- through the CLI, under limits ---------------------------------------------------------------

OK = b"Status: install ok installed\n"


def _image(box: Sandbox, entries: list, name: str) -> str:
    return ImageSpec([layer_tar(entries)]).oci_archive(str(box.inputs / f"{name}.tar"), compression="gzip")


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "box")


def _packages_and_check(box: Sandbox, image: str) -> str:
    r = box.run("packages", image, "--no-cache", timeout=90)
    assert_clean(r)
    assert r.code == 0, r.err
    c = box.run("check", image, "--no-cache", timeout=90)
    assert_clean(c)
    return r.out


@pytest.mark.parametrize("kind", ["bdb", "ndb", "sqlite-view", "sqlite-generated"])
def test_rpmdb_bombs_through_the_cli(box: Sandbox, tmp_path: Path, kind: str) -> None:
    if kind == "bdb":  # 1000 values sharing one 16 MB chain: 16 GB assembled before
        long = bytes(16 << 20)
        path, data = "var/lib/rpm/Packages", bdb([(2, len(long))] * 1000, chain(2, long))
    elif kind == "ndb":  # 250 slots sharing one 16 MB blob: 4 GB
        big = bytes(16 << 20)
        data = ndb([(1, PAGE // 16)] * 250, {PAGE // 16: (1, big)}, PAGE * 2 + len(big) + 16)
        path = "usr/lib/sysimage/rpm/Packages.db"
    elif kind == "sqlite-view":  # endless rows of 1 MB
        path, data = "var/lib/rpm/rpmdb.sqlite", sqlite_db(tmp_path, [ENDLESS_VIEW])
    else:  # 100 rows computing 50 MB each: 5 GB
        stmts = [GENERATED] + [f"INSERT INTO Packages (x) VALUES ({i})" for i in range(100)]
        path, data = "var/lib/rpm/rpmdb.sqlite", sqlite_db(tmp_path, stmts)
    image = _image(box, [d("var"), f(path, data), f("usr/bin/tool", b"t" * 100)], kind)
    assert Path(image).stat().st_size < 200_000  # the bomb is small on disk
    out = _packages_and_check(box, image)
    assert f"/{path}:" in out and "its rpm packages are not listed" in out, out


def test_doubling_symlinks_named_by_a_dpkg_list(box: Sandbox) -> None:
    links = doubling_links(40)
    status = b"Package: evil\n" + OK + b"Version: 1\nArchitecture: all\n"
    # l26 took minutes before (2**27 steps); l40 was cut by the old per-chain limit
    listed = b"/l26/file\n/l25/l26/file\n/l40/l40/file\n/l3/usr/bin/tool\n"
    entries = [sym(p, t) for p, t in links.items()]
    entries += [f("var/lib/dpkg/status", status), f("var/lib/dpkg/info/evil.list", listed)]
    entries.append(f("usr/bin/tool", b"x" * 10))
    image = _image(box, entries, "links")
    out = _packages_and_check(box, image)
    assert "evil" in out
