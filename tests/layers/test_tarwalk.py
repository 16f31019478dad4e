"""The TarWalker against tarfile's writer and reader, and against hand-made headers."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tarfile
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from layerscope.errors import FormatError
from layerscope.layers import tarwalk
from layerscope.layers.tarheader import BLOCK, TarHeader, parse_number
from layerscope.layers.tarwalk import TarWalker
from layerscope.sources import stores
from layerscope.sources.stores import _Slice
from tests.support.tarcraft import base256, end, entry, header, octal, pad, pax, with_fields


class Pipe:
    """A non-seekable stream that returns at most `step` bytes per read, like a decoder."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


@contextlib.contextmanager
def no_hang(seconds: float = 10) -> Iterator[None]:
    """Fail instead of hanging: a walk over a few KB never takes seconds."""

    def alarm(signum: int, frame: object) -> None:
        raise AssertionError(f"the walk did not finish in {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def walk(data: bytes, seekable: bool = False, chunk: int = 4096) -> tuple[list[TarHeader], TarWalker]:
    stream = io.BytesIO(data) if seekable else Pipe(data)
    walker = TarWalker(stream, chunk=chunk)
    with no_hang():
        return list(walker), walker


def walk_mapped(data: bytes, window: int = 1024) -> tuple[list[TarHeader], TarWalker]:
    """The walk of an archive member on disk (docker save), mapped `window` bytes at a time:
    small windows make headers and metadata entries straddle their ends."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "outer.tar")
        with open(path, "wb") as fh:  # the member starts off a page boundary, other bytes around it
            fh.write(b"j" * 1536 + data + b"j" * 700)
        f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed with the slice
        f.seek(1536)
        stream = _Slice(f, len(data))
        old, tarwalk.MAP_WINDOW = tarwalk.MAP_WINDOW, window
        stores.allow_mapping()  # as in a forked reader
        try:
            walker = TarWalker(stream)
            assert walker._window is not None
            with no_hang():
                return list(walker), walker
        finally:
            tarwalk.MAP_WINDOW = old
            stores.allow_mapping(False)
            stream.close()


def write_tar(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int, **kw: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **kw) as t:  # type: ignore[call-overload]
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def info(name: str, type_: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "", **kw: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname = type_, size, linkname
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


# -- names ---------------------------------------------------------------------------------


def test_ustar_prefix_joins_the_long_name():
    name = "a" * 90 + "/" + "b" * 60 + "/file.txt"
    data = write_tar([(info(name, size=3), b"abc")], tarfile.USTAR_FORMAT)
    assert data[345:350] == b"a" * 5  # tarfile did use the prefix field
    (h,), _ = walk(data)
    assert (h.name, h.size, h.typeflag) == (name, 3, "0")


def test_hand_made_prefix_and_gnu_magic_ignores_prefix_field():
    posix = entry("file", b"x", prefix="some/dir")
    # Old GNU headers keep atime/ctime where ustar has its prefix: never part of the name.
    gnu = entry("other", b"y", prefix="notaprefix", magic=b"ustar  \x00")
    hs, _ = walk(posix + gnu + end())
    assert [h.name for h in hs] == ["some/dir/file", "other"]


def test_gnu_long_names_and_long_links():
    long_name = "/".join(["d" * 40] * 5) + "/target"
    long_link = "/".join(["l" * 50] * 4)
    data = write_tar(
        [
            (info(long_name, size=5), b"hello"),
            (info(long_name + "-sym", tarfile.SYMTYPE, linkname=long_link), None),
            (info("hard", tarfile.LNKTYPE, linkname=long_name), None),
        ],
        tarfile.GNU_FORMAT,
    )
    assert b"././@LongLink" in data
    hs, _ = walk(data)
    assert [(h.name, h.typeflag, h.linkname, h.size) for h in hs] == [
        (long_name, "0", "", 5),
        (long_name + "-sym", "2", long_link, 0),
        ("hard", "1", long_name, 0),
    ]


def test_long_name_state_does_not_leak_to_the_next_entry():
    long_name = "x" * 300
    data = write_tar([(info(long_name, size=1), b"a"), (info("short", size=1), b"b")], tarfile.GNU_FORMAT)
    hs, _ = walk(data)
    assert [h.name for h in hs] == [long_name, "short"]


def test_pax_path_linkpath_size_uid():
    path = "p" * 200 + "/ünïcode"
    link = "l" * 180
    data = write_tar(
        [
            (info(path, size=4, uid=5_000_000_000), b"data"),
            (info("ln", tarfile.SYMTYPE, linkname=link), None),
        ],
        tarfile.PAX_FORMAT,
    )
    hs, _ = walk(data)
    assert (hs[0].name, hs[0].size, hs[0].uid) == (path, 4, 5_000_000_000)
    assert (hs[1].name, hs[1].linkname) == ("ln", link)


def test_pax_size_overrides_the_header_size_field():
    body = b"z" * 700
    data = pax({"size": "700"}) + header("big", size=0) + pad(body) + entry("next", b"n") + end()
    hs, _w = walk(data)
    assert [(h.name, h.size, h.data_size) for h in hs] == [("big", 700, 700), ("next", 1, 1)]


def test_pax_uid_gid_mtime_and_unknown_keys():
    data = pax({"uid": "70000000000", "gid": "9", "mtime": "1700000000.75", "SCHILY.xattr.user.x": "v"})
    data += entry("f", b"") + end()
    (h,), _ = walk(data)
    assert (h.uid, h.gid, h.mtime) == (70_000_000_000, 9, 1_700_000_000)


def test_pax_global_header_applies_to_every_later_entry_and_x_overrides_it():
    data = pax({"uid": "1234", "gid": "77"}, global_=True)
    data += entry("a") + pax({"uid": "5"}) + entry("b") + entry("c") + end()
    hs, _ = walk(data)
    assert [(h.name, h.uid, h.gid) for h in hs] == [("a", 1234, 77), ("b", 5, 77), ("c", 1234, 77)]


def test_tarfile_pax_global_headers_are_not_entries():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "hi"}) as t:
        t.addfile(info("only", size=2), io.BytesIO(b"hi"))
    hs, _ = walk(buf.getvalue())
    assert [h.name for h in hs] == ["only"]


def test_non_utf8_names_survive_as_surrogates():
    (h,), _ = walk(entry(b"caf\xe9", b"") + end())  # type: ignore[arg-type]
    assert h.name == "caf\udce9"
    assert h.name.encode("utf-8", "surrogateescape") == b"caf\xe9"


# -- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 511, 8**11, 8 << 30, 2**63 - 1])
def test_base256_numbers(value):
    assert parse_number(base256(value, 12)) == value


def test_negative_base256_and_octal_forms():
    assert parse_number(base256(-1, 8)) == -1
    assert parse_number(base256(-(2**40), 12)) == -(2**40)
    assert parse_number(b"0000644\x00") == 0o644
    assert parse_number(b"   644 \x00") == 0o644
    assert parse_number(b"\x00" * 8) == 0
    with pytest.raises(FormatError):
        parse_number(b"00009x9\x00")


def test_base256_size_and_uid_in_a_real_stream():
    data = header("big", size=base256(1000, 12), uid=base256(3_000_000_000, 8)) + pad(b"q" * 1000)
    data += entry("after", b"ok") + end()
    hs, _ = walk(data)
    assert [(h.name, h.size, h.uid) for h in hs] == [("big", 1000, 3_000_000_000), ("after", 2, 0)]


def test_numeric_fields_that_fill_their_whole_width():
    # No NUL or space after the digits: every byte of the field is a digit (allowed, and
    # what writers that use all 12 size digits for 8-64 GiB do). Read like tarfile and Go.
    block = with_fields(
        header("full"),
        {100: b"00000644", 108: b"00001750", 124: b"000000001750", 136: b"014000000000"},
        checksum=b"%07o\0",
    )
    data = block + pad(b"f" * 1000) + entry("next", b"n") + end()
    hs, _ = walk(data)
    assert [(h.name, h.size, h.mode, h.uid, h.mtime) for h in hs] == [
        ("full", 1000, 0o644, 0o1750, 0o14000000000),
        ("next", 1, 0o644, 0, 1_600_000_000),
    ]


@pytest.mark.parametrize("fmt", [b"%06o\0 ", b"%06o \0", b"%07o\0", b" %05o\0 ", b"%o\0"])
def test_checksum_field_forms(fmt):
    (h,), _ = walk(with_fields(header("c", size=3), {}, checksum=fmt) + pad(b"abc") + end())
    assert (h.name, h.size) == ("c", 3)


def test_tarfile_gnu_base256_uid():
    data = write_tar([(info("f", size=1, uid=2**40, gid=2**33), b"x")], tarfile.GNU_FORMAT)
    assert data[108] & 0x80
    (h,), _ = walk(data)
    assert (h.uid, h.gid) == (2**40, 2**33)


def test_negative_size_is_a_format_error():
    with pytest.raises(FormatError, match="negative size"):
        walk(header("neg", size=base256(-5, 12)) + end())


# -- types ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typeflag", [b"1", b"2", b"3", b"4", b"5", b"6"])
def test_header_only_types_carry_no_data_even_with_a_size(typeflag):
    # The size field says 1000 but no data follows: the next header comes right after.
    data = header("odd", typeflag=typeflag, size=1000, linkname="t") + entry("next", b"abc") + end()
    hs, _ = walk(data)
    assert [(h.name, h.typeflag, h.size, h.data_size) for h in hs] == [
        ("odd", typeflag.decode(), 1000, 0),
        ("next", "0", 3, 3),
    ]


def test_old_nul_type_is_regular_or_a_directory_by_trailing_slash():
    data = entry("olddir/", typeflag=b"\0") + entry("olddir/file", b"12345", typeflag=b"\0") + end()
    hs, _ = walk(data)
    assert [(h.name, h.typeflag, h.data_size) for h in hs] == [("olddir/", "5", 0), ("olddir/file", "0", 5)]


def test_contiguous_type_7_and_unknown_types_keep_their_data():
    data = entry("c", b"x" * 600, typeflag=b"7") + entry("v", b"y" * 10, typeflag=b"V") + entry("z", b"") + end()
    hs, _ = walk(data)
    assert [(h.name, h.typeflag, h.data_size) for h in hs] == [("c", "7", 600), ("v", "V", 10), ("z", "0", 0)]


def test_old_gnu_sparse_entry_with_extension_block():
    sparse = bytearray(header("sp", typeflag=b"S", size=512, checksum=False))
    sparse[482] = 1  # isextended: one extension header block follows
    sparse[148:156] = b" " * 8
    sparse[148:156] = f"{sum(sparse):06o}".encode() + b"\0 "
    ext = bytearray(BLOCK)  # extension with isextended = 0
    data = bytes(sparse) + bytes(ext) + pad(b"s" * 512) + entry("after", b"a") + end()
    hs, _ = walk(data)
    assert [(h.name, h.sparse, h.data_size) for h in hs] == [("sp", True, 512), ("after", False, 1)]


def test_mode_is_masked_to_permission_bits():
    (h,), _ = walk(entry("f", mode=0o100755) + end())
    assert h.mode == 0o755


def test_signed_checksum_of_old_writers_is_accepted():
    block = bytearray(header("f\xe9".encode("latin-1"), checksum=False))
    block[148:156] = b" " * 8
    signed = sum(b if b < 128 else b - 256 for b in block)
    block[148:156] = f"{signed:06o}".encode() + b"\0 "
    (h,), _ = walk(bytes(block) + end())
    assert h.name == "f\udce9"


# -- truncation and garbage ----------------------------------------------------------------

SAMPLE = write_tar(
    [(info("dir", tarfile.DIRTYPE), None), (info("dir/a", size=1500), b"a" * 1500), (info("dir/b", size=3), b"bbb")],
    tarfile.PAX_FORMAT,
)


@pytest.mark.parametrize("seekable", [False, True])
@pytest.mark.parametrize(
    ("cut", "what"), [(700, "partial header"), (1024 + 100, "entry data"), (3072 + 1, "entry data")]
)
def test_truncated_streams_raise_format_error(seekable, cut, what):
    with pytest.raises(FormatError, match=f"truncated tar stream: {what}"):
        walk(SAMPLE[:cut], seekable=seekable, chunk=512)


def test_truncation_inside_a_pax_record_or_long_name_is_a_format_error():
    data = pax({"path": "x" * 300}) + entry("short") + end()
    with pytest.raises(FormatError, match="metadata entry"):
        walk(data[:600])
    gnu = write_tar([(info("y" * 300, size=1), b"y")], tarfile.GNU_FORMAT)
    with pytest.raises(FormatError, match="metadata entry"):
        walk(gnu[:700])


@pytest.mark.parametrize("meta", ["pax", "gnu"])
def test_an_extended_header_with_no_entry_after_it_is_truncation(meta):
    if meta == "pax":
        data = entry("first", b"1") + pax({"path": "p" * 200})
    else:
        data = write_tar([(info("first", size=1), b"1"), (info("g" * 200, size=1), b"2")], tarfile.GNU_FORMAT)
        data = data[: 3 * BLOCK + BLOCK]  # first + its data + the ././@LongLink header and its name block
    with pytest.raises(FormatError, match="truncated"):
        walk(data)


def test_clean_end_without_end_marker_is_accepted():
    data = entry("a", b"abc") + entry("b")
    hs, w = walk(data)
    assert [h.name for h in hs] == ["a", "b"]
    assert not w.saw_eof_marker


def test_empty_stream_is_an_empty_archive():
    hs, w = walk(b"")
    assert hs == [] and not w.saw_eof_marker


@pytest.mark.parametrize("garbage", [b"\x01" * 512, bytes(range(256)) * 8, b"PK\x03\x04" + b"\0" * 600])
def test_garbage_is_not_a_tar_stream(garbage):
    with pytest.raises(FormatError, match="not a tar stream"):
        walk(garbage)


def test_garbage_after_valid_entries_is_not_a_tar_stream():
    with pytest.raises(FormatError, match="not a tar stream: bad header checksum at offset 1024"):
        walk(entry("a", b"a") + b"\x07" * 512)


@pytest.mark.parametrize(
    "records",
    [b"garbage", b"5 a=b\n", b"99 path=x\n", b"x path=y\n", b"12 pathxy\n"],
)
def test_corrupt_pax_records(records):
    with pytest.raises(FormatError, match="corrupt PAX header"):
        walk(entry("PaxHeader", records, typeflag=b"x") + entry("f") + end())


@pytest.mark.parametrize("key", ["size", "uid", "gid", "mtime"])
@pytest.mark.parametrize("value", ["abc", "nan", "inf", "0x10"])
def test_pax_numbers_that_are_not_numbers(key, value):
    with pytest.raises(FormatError, match="corrupt PAX header"):
        walk(pax({key: value}) + entry("f") + end())


def test_pax_negative_numbers():
    with pytest.raises(FormatError, match="corrupt PAX header: negative size"):
        walk(pax({"size": "-5"}) + entry("f") + end())
    # A negative id or time is odd but readable (pre-1970 mtimes exist).
    (h,), _ = walk(pax({"uid": "-5", "gid": "-6", "mtime": "-7"}) + entry("f") + end())
    assert (h.uid, h.gid, h.mtime) == (-5, -6, -7)


def test_empty_pax_values_keep_the_header_fields():
    # POSIX and Go: an empty value removes the keyword; a global one stops applying.
    data = pax({"uid": "42", "path": "global-name"}, global_=True)
    data += pax({"size": "", "uid": "", "path": "", "mtime": ""}) + entry("f", b"abc", uid=7, mtime=99)
    data += pax({"uid": ""}, global_=True) + entry("g", uid=8) + end()
    hs, _ = walk(data)
    assert [(h.name, h.size, h.uid, h.mtime) for h in hs] == [("f", 3, 7, 99), ("global-name", 0, 8, 1_600_000_000)]


def test_oversized_metadata_entry_is_refused():
    with pytest.raises(FormatError, match="metadata entry"):
        walk(header("././@LongLink", typeflag=b"L", size=64 << 20) + end())


# -- after the end marker ------------------------------------------------------------------


def test_data_after_the_end_marker_is_drained_and_trailing_headers_collected():
    toc = b'{"version":1,"entries":[]}'
    data = entry("payload", b"p" * 10) + end() + entry("stargz.index.json", toc) + bytes(3000) + b"junk" * 10
    hs, w = walk(data)
    assert [h.name for h in hs] == ["payload"]
    assert w.saw_eof_marker
    assert [(t.name, t.size) for t in w.trailing] == [("stargz.index.json", len(toc))]
    assert w.offset == len(data)


def test_trailing_garbage_after_the_end_marker_is_drained_not_parsed():
    data = entry("a", b"a") + end() + b"\xff" * 5000
    hs, w = walk(data, seekable=True)
    assert [h.name for h in hs] == ["a"] and w.trailing == [] and w.offset == len(data)


def test_truncated_trailing_entry_after_the_end_marker_is_tolerated():
    data = entry("a", b"a") + end() + header("toc", size=5000) + b"t" * 100
    hs, w = walk(data)
    assert [h.name for h in hs] == ["a"] and [t.name for t in w.trailing] == ["toc"]
    assert w.offset == len(data)


@pytest.mark.parametrize(
    "after",
    [
        header("neg", size=base256(-1000, 12)),  # would step backwards: must not loop forever
        header("bad", size=b"zzzzzzzzzzz\0"),
        header("././@LongLink", typeflag=b"x", size=9000) + b"cut",
    ],
    ids=["negative-size", "bad-number", "cut-pax"],
)
def test_bad_headers_after_the_end_marker_end_the_collection(after):
    data = entry("a", b"a") + end() + after + b"rest" * 100
    hs, w = walk(data)
    assert [h.name for h in hs] == ["a"] and w.trailing == [] and w.offset == len(data)


def test_tarfile_record_padding_is_drained():
    _hs, w = walk(SAMPLE)
    assert len(SAMPLE) % 10240 == 0 and w.offset == len(SAMPLE)


# -- entry data ----------------------------------------------------------------------------


def test_read_data_full_limited_and_skipped():
    body = bytes(range(256)) * 10
    data = entry("a", body) + entry("b", b"second") + entry("c", b"third") + end()
    walker = TarWalker(Pipe(data, step=100), chunk=512)
    got = {}
    for h in walker:
        if h.name == "a":
            got["a"] = walker.read_data(limit=300)
        elif h.name == "c":
            got["c"] = walker.read_data()
            got["c-again"] = walker.read_data()
    assert got == {"a": body[:300], "c": b"third", "c-again": b""}


def test_entry_stream_reads_in_pieces_and_the_rest_is_skipped():
    body = b"0123456789" * 300
    data = entry("big", body) + entry("small", b"s") + end()
    walker = TarWalker(Pipe(data, step=77), chunk=512)
    seen = []
    for h in walker:
        s = walker.entry_stream()
        if h.name == "big":
            head = s.read(5)
            rest = s.read()
            seen.append((h.name, head + rest))
            assert s.read() == b""
        else:
            seen.append((h.name, s.read(1)))
    assert seen == [("big", body), ("small", b"s")]


def test_entry_stream_partially_read_then_next_entry():
    data = entry("a", b"A" * 5000) + entry("b", b"B" * 10) + end()
    walker = TarWalker(io.BytesIO(data), chunk=512)
    out = []
    for _h in walker:
        out.append(walker.entry_stream().read(3))
    assert out == [b"AAA", b"BBB"]


# -- property-based: tarfile writes, we read ------------------------------------------------

_NAME_PART = st.text(alphabet=st.sampled_from("abcxyz019._-éß"), min_size=1, max_size=30).filter(
    lambda s: s not in (".", "..")
)
_NAMES = st.lists(_NAME_PART, min_size=1, max_size=8).map("/".join)
_SHORT_NAMES = st.lists(_NAME_PART, min_size=1, max_size=3).map("/".join)


@st.composite
def archives(draw: st.DrawFn) -> tuple[list[tuple[tarfile.TarInfo, bytes | None]], int]:
    """Entries for tarfile to write, and the format; ustar gets names and ids it can hold."""
    fmt = draw(st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    ustar = fmt == tarfile.USTAR_FORMAT
    names = _SHORT_NAMES if ustar else _NAMES
    out: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(names)
        kind = draw(st.sampled_from(["file", "file", "dir", "sym", "hard", "fifo", "chr"]))
        ti = tarfile.TarInfo(name)
        ti.mode = draw(st.integers(0, 0o7777))
        ti.uid = draw(st.integers(0, 2**21 - 1) if ustar else st.integers(0, 2**21 - 1) | st.integers(0, 2**40))
        ti.gid = draw(st.integers(0, 5000))
        ti.mtime = draw(st.integers(0, 2**33 - 1))
        data: bytes | None = None
        if kind == "file":
            data = draw(st.binary(max_size=1200))
            ti.size = len(data)
        elif kind == "dir":
            ti.type = tarfile.DIRTYPE
        elif kind == "sym":
            ti.type, ti.linkname = tarfile.SYMTYPE, draw(names)
        elif kind == "hard":
            ti.type, ti.linkname = tarfile.LNKTYPE, draw(names)
        elif kind == "fifo":
            ti.type = tarfile.FIFOTYPE
        else:
            ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, draw(st.integers(0, 255)), draw(st.integers(0, 255))
        out.append((ti, data))
    return out, fmt


def _archive(mems: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int, global_pax: bool = False) -> bytes:
    kw = {"pax_headers": {"comment": "global"}} if global_pax and fmt == tarfile.PAX_FORMAT else {}
    try:
        return write_tar(mems, fmt, encoding="utf-8", **kw)
    except ValueError:  # ustar: name or link too long, number too large
        assume(False)
        raise


def _norm(name: str) -> str:
    return name.rstrip("/") if len(name) > 1 else name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archives(), mode=st.sampled_from(["stream", "seekable", "mapped"]))
def test_walker_reads_what_tarfile_reads(arch, mode):
    mems, fmt = arch
    data = _archive(mems, fmt)
    ours, walker = walk_mapped(data) if mode == "mapped" else walk(data, seekable=mode == "seekable", chunk=1024)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8") as t:
        theirs = t.getmembers()
    assert [(_norm(h.name), h.typeflag, h.size, h.mode, h.uid, h.gid, h.mtime, h.linkname) for h in ours] == [
        (m.name, m.type.decode(), m.size, m.mode, m.uid, m.gid, m.mtime, m.linkname) for m in theirs
    ]
    assert [h.offset for h in ours] == [m.offset_data - BLOCK for m in theirs]
    assert walker.offset == len(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archives(), global_pax=st.booleans(), data=st.data())
def test_every_prefix_parses_at_an_entry_boundary_or_raises(arch, global_pax, data):
    mems, fmt = arch
    archive = _archive(mems, fmt, global_pax)
    full, _ = walk(archive)
    ends = []
    if mems:  # (tarfile cannot read back an archive holding only a global header)
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:", encoding="utf-8") as t:
            ends = [m.offset_data + (m.size + BLOCK - 1) // BLOCK * BLOCK if m.isreg() else m.offset_data for m in t]
    first = 2 * BLOCK if global_pax and fmt == tarfile.PAX_FORMAT else 0  # the global header's end
    # Clean ends: before anything (or after the global header), or right after an entry.
    clean = {0: 0, first: 0} | {e: i + 1 for i, e in enumerate(ends)}
    cuts = set(range(0, len(archive), BLOCK)) | {data.draw(st.integers(0, len(archive)), label="cut")}
    for cut in sorted(cuts):
        try:
            got, _ = walk_mapped(archive[:cut]) if cut % 3 == 2 else walk(archive[:cut], seekable=bool(cut % 3))
        except FormatError:
            assert cut not in clean, cut
            continue
        assert got == full[: len(got)], cut
        if len(got) < len(full):
            assert clean.get(cut) == len(got), (cut, len(got))
        else:
            assert cut >= (ends[-1] if ends else 0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archives(), data=st.data())
def test_corrupted_headers_raise_format_error_or_parse(arch, data):
    mems, fmt = arch
    """Bytes changed inside header blocks, checksums repaired: never another exception."""
    archive = bytearray(_archive(mems, fmt))
    _, _walker = walk(bytes(archive))
    blocks = len(archive) // BLOCK
    for _ in range(data.draw(st.integers(1, 6))):
        b = data.draw(st.integers(0, blocks - 1))
        pos = b * BLOCK + data.draw(st.integers(0, BLOCK - 1))
        archive[pos] = data.draw(st.integers(0, 255))
        block = archive[b * BLOCK : (b + 1) * BLOCK]
        if any(block) and not (148 <= pos % BLOCK < 156):
            block[148:156] = b" " * 8
            archive[b * BLOCK + 148 : b * BLOCK + 156] = octal(sum(block), 7) + b" "
    with contextlib.suppress(FormatError):
        walk(bytes(archive))
