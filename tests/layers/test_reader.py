"""read_layer: decompression, digests, path safety, whiteout classification, captures."""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import random
import tarfile
import zlib

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.errors import DigestError, FormatError, UnsafeInputError
from layerscope.layers import streams
from layerscope.layers.reader import normalize, read_layer
from layerscope.model import CHAR, DIR, FIFO, FILE, HARDLINK, SYMLINK
from tests.support.factory import Entry, d, f, hard, layer_tar, opq, sha, sym, wh
from tests.support.tarcraft import end, entry, gzip_bomb, header, pax, skippable_frame, zstd_bomb, zstd_frames


class Chunks(io.RawIOBase):
    """A non-seekable stream over an iterator of byte strings (a bomb never sits in memory)."""

    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            nxt = next(self._it, None)
            if nxt is None:
                break
            self._buf += nxt
        if size < 0:
            size = len(self._buf)
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, buf):  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def read(blob: bytes, **kw):
    return read_layer(Chunks([blob]), **kw)


TAR = layer_tar(
    [d("app"), f("app/a.txt", b"alpha" * 100), f("app/b.bin", bytes(range(256)) * 7), sym("app/l", "a.txt")]
)
DIFF_ID = sha(TAR)


def paths(record):
    return [(x.path, x.type, x.size) for x in record.files]


EXPECTED = [("app", DIR, 0), ("app/a.txt", FILE, 500), ("app/b.bin", FILE, 1792), ("app/l", SYMLINK, 0)]


# -- plain, gzip, zstd ---------------------------------------------------------------------


def test_uncompressed_layer():
    r = read(TAR)
    assert paths(r) == EXPECTED
    assert (r.compression, r.size, r.regular_files) == ("none", 2292, 2)
    assert r.uncompressed_bytes == r.stored_bytes == len(TAR)
    assert r.stored_digest is None and r.diff_id is None  # not hashed without verify


def test_uncompressed_layer_with_verify_hashes_once():
    r = read(TAR, verify=True, expected_diff_id=DIFF_ID)
    assert r.stored_digest == r.diff_id == DIFF_ID


def test_gzip_layer_always_hashes_the_blob():
    blob = gzip.compress(TAR, mtime=0)
    r = read(blob, expected_digest=sha(blob))
    assert paths(r) == EXPECTED
    assert (r.compression, r.stored_bytes, r.uncompressed_bytes) == ("gzip", len(blob), len(TAR))
    assert r.stored_digest == sha(blob) and r.diff_id is None


def test_multi_member_gzip_like_estargz():
    # eStargz: one gzip member per file, each member a piece of the same tar stream.
    cuts = [0, 512, 1024, 1536, 2048, 2560, len(TAR)]
    blob = b"".join(gzip.compress(TAR[a:b], mtime=0) for a, b in itertools.pairwise(cuts))
    assert blob.count(b"\x1f\x8b\x08") >= 6
    r = read(blob, verify=True, expected_digest=sha(blob), expected_diff_id=DIFF_ID)
    assert paths(r) == EXPECTED
    assert r.diff_id == DIFF_ID and r.uncompressed_bytes == len(TAR)


def test_estargz_metadata_after_the_tar_end_is_noted():
    toc = b'{"version":1,"entries":[]}'
    payload = entry("README.md", b"hi") + entry(".no.prefetch.landmark", b"\xf0")
    stream = payload + end() + entry("stargz.index.json", toc) + end()
    blob = gzip.compress(payload, mtime=0) + gzip.compress(stream[len(payload) :], mtime=0)
    r = read(blob, verify=True, expected_diff_id=sha(stream))
    assert [x.path for x in r.files] == ["README.md", ".no.prefetch.landmark"]
    assert "eStargz metadata after the tar end: stargz.index.json" in r.notes
    assert "eStargz metadata entries present in the layer" in r.notes
    assert r.uncompressed_bytes == len(stream)


def test_zstd_layer_with_several_frames_and_skippable_frames():
    blob = (
        zstd_frames(TAR[:1000], TAR[1000:1001], TAR[1001:])
        + skippable_frame(b"toc-like metadata")
        + zstd_frames(b"")
        + skippable_frame(b"", nibble=15)
    )
    r = read(blob, verify=True, expected_digest=sha(blob), expected_diff_id=DIFF_ID)
    assert paths(r) == EXPECTED
    assert (r.compression, r.diff_id, r.stored_bytes) == ("zstd", DIFF_ID, len(blob))


def test_zstd_stream_that_starts_with_a_skippable_frame():
    blob = skippable_frame(b"x" * 40) + zstd_frames(TAR)
    r = read(blob, verify=True, expected_diff_id=DIFF_ID)
    assert r.compression == "zstd" and paths(r) == EXPECTED


def test_zstd_streaming_compressor_output():
    blob = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    data = blob.compress(TAR) + blob.flush()
    assert paths(read(data)) == EXPECTED


def test_short_reads_from_the_blob_do_not_matter():
    blob = gzip.compress(TAR, mtime=0)
    r = read_layer(Chunks([blob[i : i + 7] for i in range(0, len(blob), 7)]), verify=True)
    assert paths(r) == EXPECTED and r.diff_id == DIFF_ID


# -- truncated and corrupt -----------------------------------------------------------------

GZ = gzip.compress(TAR, mtime=0)
ZS = zstd_frames(TAR)


@pytest.mark.parametrize("cut", [12, len(GZ) // 2, len(GZ) - 4, len(GZ) - 1])
def test_truncated_gzip_is_a_format_error(cut):
    with pytest.raises(FormatError, match=r"truncated|ends early"):
        read(GZ[:cut])


@pytest.mark.parametrize("cut", [6, len(ZS) // 2, len(ZS) - 1])
def test_truncated_zstd_is_a_format_error(cut):
    with pytest.raises(FormatError, match=r"truncated|ends early"):
        read(ZS[:cut])


def test_truncated_second_zstd_frame():
    blob = zstd_frames(TAR[:1024], TAR[1024:])
    with pytest.raises(FormatError, match="truncated"):
        read(blob[:-3])


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0xFF]) + blob[at + 1 :]


@pytest.mark.parametrize("at", [10, 11, 40, -6, -2])
def test_corrupt_gzip_is_a_format_error(at):
    with pytest.raises(FormatError):
        read(_flip(GZ, at % len(GZ)))


def test_corrupt_gzip_with_the_stdlib_decoder(monkeypatch):
    # The fallback when isal is missing raises zlib.error for a bad deflate block.
    real_import = __import__

    def no_isal(name, *args, **kwargs):
        if name == "isal" or name.startswith("isal."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", no_isal)
    assert paths(read(GZ)) == EXPECTED
    with pytest.raises(FormatError):
        read(_flip(GZ, 40))


@pytest.mark.parametrize("at", [5, 20, -2])
def test_corrupt_zstd_is_a_format_error(at):
    with pytest.raises(FormatError):
        read(_flip(ZS, at % len(ZS)))


def test_garbage_after_a_gzip_member_is_a_format_error():
    with pytest.raises(FormatError):
        read(GZ + b"not gzip at all")


def test_uncompressed_garbage_is_not_a_tar_stream():
    with pytest.raises(FormatError, match="not a tar stream"):
        read(b"\x07" * 2000)


def test_gzip_of_garbage_is_not_a_tar_stream():
    with pytest.raises(FormatError, match="not a tar stream"):
        read(gzip.compress(b"\x07" * 2000))


def test_truncated_tar_inside_valid_gzip():
    with pytest.raises(FormatError, match="truncated tar stream"):
        read(gzip.compress(TAR[:1300]))


# -- decompression bombs -------------------------------------------------------------------


def test_gzip_bomb_is_refused():
    total = 320 << 20  # 320 MiB of zeros in ~330 KB: far past the 200x ratio
    with pytest.raises(UnsafeInputError, match="decompression bomb"):
        read_layer(Chunks(gzip_bomb(total)))


def test_zstd_bomb_is_refused():
    with pytest.raises(UnsafeInputError, match="decompression bomb"):
        read(zstd_bomb(320 << 20))


def test_highly_compressible_but_small_layers_are_fine():
    blob = b"".join(gzip_bomb(8 << 20))  # 8 MiB of zeros: ratio ~1000x, under the floor
    r = read(blob)
    assert [(x.path, x.size) for x in r.files] == [("zeros", 8 << 20)]


def test_bomb_floor_and_ratio(monkeypatch):
    monkeypatch.setattr(streams, "BOMB_MIN_BYTES", 1 << 20)
    with pytest.raises(UnsafeInputError):
        read(b"".join(gzip_bomb(4 << 20)))
    text = layer_tar([f("t", random.Random(0).randbytes(5_000_000))])  # incompressible
    assert read(gzip.compress(text)).size == 5_000_000


# -- digests -------------------------------------------------------------------------------


def test_compressed_blob_digest_is_checked_without_verify():
    blob = gzip.compress(TAR, mtime=0)
    with pytest.raises(DigestError, match="digest mismatch in layer 3"):
        read(blob, expected_digest=sha(b"other"), what="layer 3")


def test_zstd_blob_digest_is_checked():
    with pytest.raises(DigestError):
        read(ZS, expected_digest=sha(ZS + b"\0"))


def test_diff_id_is_checked_only_with_verify():
    blob = gzip.compress(TAR, mtime=0)
    wrong = sha(b"lie")
    r = read(blob, expected_digest=sha(blob), expected_diff_id=wrong)
    assert r.diff_id is None
    with pytest.raises(DigestError, match="diff_id mismatch"):
        read(blob, verify=True, expected_digest=sha(blob), expected_diff_id=wrong)


def test_uncompressed_blob_digest_and_diff_id_with_verify():
    wrong = sha(b"lie")
    assert read(TAR, expected_digest=wrong, expected_diff_id=wrong).files  # nothing hashed
    with pytest.raises(DigestError):
        read(TAR, verify=True, expected_digest=wrong)
    with pytest.raises(DigestError, match="diff_id mismatch"):
        read(TAR, verify=True, expected_diff_id=wrong)


def test_diff_id_covers_padding_after_the_end_marker():
    padded = TAR + bytes(4096)
    r = read(gzip.compress(padded), verify=True, expected_diff_id=sha(padded))
    assert r.diff_id == sha(padded) and r.uncompressed_bytes == len(padded)


def test_blob_digest_covers_bytes_after_the_gzip_stream():
    blob = gzip.compress(TAR, mtime=0) + gzip.compress(b"", mtime=0)  # an empty trailing member
    r = read(blob, expected_digest=sha(blob))
    assert r.stored_bytes == len(blob)


def test_sha512_blob_digest():
    blob = gzip.compress(TAR, mtime=0)
    good = "sha512:" + hashlib.sha512(blob).hexdigest()
    r = read(blob, expected_digest=good)
    assert paths(r) == EXPECTED
    with pytest.raises(DigestError):
        read(blob, expected_digest="sha512:" + hashlib.sha512(b"x").hexdigest())
    # Uncompressed and sha512-named: the diff_id is still a sha256 of the same bytes.
    r = read(TAR, verify=True, expected_digest="sha512:" + hashlib.sha512(TAR).hexdigest(), expected_diff_id=DIFF_ID)
    assert r.stored_digest == "sha512:" + hashlib.sha512(TAR).hexdigest() and r.diff_id == DIFF_ID


# -- paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("/etc/passwd", "etc/passwd"),
        ("./etc/", "etc"),
        ("//usr//lib/./x", "usr/lib/x"),
        ("a/b/../c", "a/c"),
        ("./", ""),
        ("/", ""),
        (".", ""),
        ("a/..", ""),
    ],
)
def test_normalize(name, clean):
    assert normalize(name) == clean


@pytest.mark.parametrize("name", ["..", "../x", "/../x", "./../x", "a/../../x", "a/b/../../../etc/passwd"])
def test_normalize_refuses_escapes(name):
    with pytest.raises(UnsafeInputError, match="escapes the root"):
        normalize(name)


def _raw_tar(names: list[str]) -> bytes:
    return b"".join(entry(n, b"x") for n in names) + end()


@pytest.mark.parametrize("name", ["../evil", "ok/../../evil", "/../../etc/shadow"])
def test_dot_dot_entries_are_unsafe(name):
    with pytest.raises(UnsafeInputError):
        read(_raw_tar(["fine", name]))
    with pytest.raises(UnsafeInputError):
        read(gzip.compress(_raw_tar([name])))


def test_hardlink_target_escaping_is_unsafe():
    with pytest.raises(UnsafeInputError, match="hardlink target"):
        read(entry("fine", b"x") + header("link", typeflag=b"1", linkname="../../etc/passwd") + end())


def test_symlink_targets_are_kept_as_written():
    r = read(layer_tar([sym("a", "../../outside"), sym("b", "/abs/target")]))
    assert [(x.path, x.linkname) for x in r.files] == [("a", "../../outside"), ("b", "/abs/target")]


def test_absolute_and_dot_names_are_normalised():
    raw = entry("./", typeflag=b"5") + entry("/abs/", typeflag=b"5") + entry("/abs/file", b"12")
    raw += entry("./rel//x", b"3") + header("/abs/hl", typeflag=b"1", linkname="/abs/file") + end()
    r = read(raw)
    assert [(x.path, x.type, x.linkname) for x in r.files] == [
        ("abs", DIR, ""),
        ("abs/file", FILE, ""),
        ("rel/x", FILE, ""),
        ("abs/hl", HARDLINK, "abs/file"),
    ]


def test_entry_attributes():
    e = Entry("bin/tool", b"#!", mode=0o4755, uid=1000, gid=50, mtime=1_700_000_001)
    tar = layer_tar([e, Entry("dev/null", None, tarfile.CHRTYPE), Entry("p", None, tarfile.FIFOTYPE)])
    r = read(tar)
    rec = r.files[0]
    assert (rec.mode, rec.uid, rec.gid, rec.mtime, rec.size) == (0o4755, 1000, 50, 1_700_000_001, 2)
    assert [x.type for x in r.files] == [FILE, CHAR, FIFO]


def test_long_names_and_pax_sizes_in_a_layer():
    long = "deep/" * 40 + "file.py"
    gnu = layer_tar([f(long, b"g" * 10), hard("link", long)], fmt=tarfile.GNU_FORMAT)
    assert [(x.path, x.type, x.linkname) for x in read(gnu).files] == [(long, FILE, ""), ("link", HARDLINK, long)]
    pax = entry("PaxHeader", b"13 size=1000\n", typeflag=b"x") + header("big") + b"b" * 1024 + end()
    assert [(x.path, x.size) for x in read(pax).files] == [("big", 1000)]


# -- whiteouts -----------------------------------------------------------------------------


def test_whiteout_classification():
    tar = layer_tar(
        [
            wh("gone"),
            d("etc"),
            wh("etc/old.conf"),
            opq("var/cache"),
            f(".wh..wh..opq"),  # opaque at the root
            d(".wh..wh.plnk"),  # AUFS hardlink dir: metadata, not a whiteout
            f(".wh..wh.aufs"),
            f("etc/.wh..wh.orph"),
            f("etc/not.wh.x", b"keep"),
            f("etc/.whx", b"keep"),
        ]
    )
    r = read(tar)
    assert r.whiteouts == ("gone", "etc/old.conf")
    assert r.opaque_dirs == ("var/cache", "")
    assert [x.path for x in r.files] == ["etc", "etc/not.wh.x", "etc/.whx"]


def test_whiteout_markers_do_not_count_as_files():
    r = read(layer_tar([wh("a/b"), opq("c"), f("d", b"12")]))
    assert (r.regular_files, r.size) == (1, 2)


def test_empty_whiteout_name_is_invalid():
    with pytest.raises(FormatError, match="invalid whiteout"):
        read(layer_tar([f("dir/.wh.")]))


@pytest.mark.parametrize("name", [".wh...", "a/.wh..."])
def test_whiteouts_that_escape_the_root_are_unsafe(name):
    with pytest.raises((UnsafeInputError, FormatError)):
        read(_raw_tar([name]))


def test_whiteout_names_are_normalised():
    r = read(_raw_tar(["/a/.wh.b", "./c/.wh..wh..opq", "a/b/.wh..d"]))
    assert r.whiteouts == ("a/b", "a/b/.d")
    assert r.opaque_dirs == ("c",)


# -- captured metadata files ---------------------------------------------------------------


def test_package_metadata_is_captured():
    meta = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    tar = layer_tar(
        [
            f("usr/lib/python3/site-packages/demo-1.0.dist-info/METADATA", meta),
            f("usr/lib/python3/site-packages/demo-1.0.dist-info/RECORD", b"demo/__init__.py,,0\n"),
            f("usr/lib/python3/site-packages/demo-1.0.dist-info/LICENSE", b"MIT"),
            f("usr/lib/python3/site-packages/demo/__init__.py", b""),
            f("var/lib/dpkg/status", b"Package: bash\n"),
            f("lib/apk/db/installed", b"P:musl\n"),
            f("var/lib/dpkg/info/bash.list", b"/bin/bash\n"),
            f("opt/conda/conda-meta/numpy-1.0.json", b"{}"),
            sym("var/lib/dpkg/status-old", "status"),
        ]
    )
    r = read(gzip.compress(tar))
    assert dict(r.captured) == {
        "usr/lib/python3/site-packages/demo-1.0.dist-info/METADATA": meta,
        "usr/lib/python3/site-packages/demo-1.0.dist-info/RECORD": b"demo/__init__.py,,0\n",
        "var/lib/dpkg/status": b"Package: bash\n",
        "lib/apk/db/installed": b"P:musl\n",
        "var/lib/dpkg/info/bash.list": b"/bin/bash\n",
        "opt/conda/conda-meta/numpy-1.0.json": b"{}",
    }
    # Capturing reads the data; the walk still sees every entry after it.
    assert len(r.files) == 9 and r.size == sum(x.size for x in r.files)


def test_oversized_metadata_is_not_captured():
    big = b"P" * ((8 << 20) + 1)
    r = read(layer_tar([f("var/lib/dpkg/status", big), f("after", b"a")]))
    assert r.captured == () and [x.path for x in r.files] == ["var/lib/dpkg/status", "after"]


def test_captured_file_across_gzip_members():
    tar = layer_tar([f("pad", b"p" * 3000), f("var/lib/dpkg/status", b"Package: x\n" * 500)])
    blob = b"".join(gzip.compress(tar[i : i + 700]) for i in range(0, len(tar), 700))
    assert dict(read(blob).captured)["var/lib/dpkg/status"] == b"Package: x\n" * 500


def test_sparse_files_are_noted():
    sparse = bytearray(header("sp", typeflag=b"S", size=512, checksum=False))
    sparse[148:156] = b" " * 8
    sparse[148:156] = f"{sum(sparse):06o}".encode() + b"\0 "
    r = read(bytes(sparse) + b"s" * 512 + end())
    assert r.files[0].type == FILE and "1 sparse file(s): sizes are apparent sizes" in r.notes


def test_empty_blob_is_an_empty_layer():
    r = read(b"")
    assert r.files == () and r.size == 0


def test_zlib_raw_stream_is_not_gzip():
    # A zlib (not gzip) stream has no gzip magic: it is read as a tar and refused.
    with pytest.raises(FormatError, match="tar stream"):
        read(zlib.compress(TAR))


# -- seekable blobs (an uncompressed docker save on disk: data is seeked over) ---------------

SEEKABLE_CASES = {
    "plain": TAR,
    "padded": TAR + bytes(5000),
    "truncated-data": TAR[:1300],
    "truncated-header": TAR[:700],
    "dot-dot": _raw_tar(["fine", "../evil"]),
    "whiteouts": layer_tar([wh("gone"), opq("var/cache"), f("x", b"1" * 3000)]),
    "garbage": b"\x07" * 2000,
    "no-end-marker": entry("a", b"a" * 700) + entry("b", b"b"),
    "gzip": gzip.compress(TAR, mtime=0),
}


@pytest.mark.parametrize("name", SEEKABLE_CASES)
def test_seekable_and_streamed_blobs_read_the_same(name):
    blob = SEEKABLE_CASES[name]

    def attempt(stream):
        try:
            r = read_layer(stream)
        except (FormatError, UnsafeInputError) as err:
            return type(err)
        return (r.files, r.whiteouts, r.opaque_dirs, r.size, r.uncompressed_bytes, r.stored_bytes, r.captured)

    assert attempt(io.BytesIO(blob)) == attempt(Chunks([blob]))


_PARTS = st.sampled_from(["a", "b.txt", ".hidden", ".", "..", "", "...", "é"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PARTS, min_size=1, max_size=5).map("/".join), st.sampled_from(["", "/", "./"]))
def test_names_the_reader_keeps_as_they_are_are_the_ones_normalize_keeps(name, lead):
    """The reader's inline test for a clean name (hidden files included) agrees with normalize()."""
    raw = lead + name
    tar = layer_tar([f(raw, b"x")])
    try:
        expected = normalize(raw)
    except UnsafeInputError:
        with pytest.raises(UnsafeInputError):
            read_layer(io.BytesIO(tar))
        return
    files = read_layer(io.BytesIO(tar)).files
    assert [x.path for x in files] == ([expected] if expected else [])


# -- bounds a layer's entries must keep (a saved analysis holds what was read) ---------------


def test_a_path_longer_than_path_max_is_refused():
    from layerscope.model import MAX_PATH

    ok = "d/" * ((MAX_PATH - 1) // 2) + "x"
    assert len(ok) <= MAX_PATH
    assert read(pax({"path": ok}) + entry("f", b"1") + end()).files[0].path == ok
    deep = "/".join(["d"] * 50_000)  # 100 kB: its 50,000 parents would have cost gigabytes
    with pytest.raises(UnsafeInputError, match="path of 99999 characters"):
        read(pax({"path": deep}) + entry("f", b"1") + end())
    with pytest.raises(UnsafeInputError, match="path of"):
        read(pax({"path": "./" + "a" * (MAX_PATH + 1)}) + entry("f") + end())  # the normalising path too


def test_header_only_entries_claiming_more_than_an_int64_are_refused():
    from layerscope.units import MAX_SIZE

    one = pax({"size": str(MAX_SIZE)}) + header("d1/", typeflag=b"5")
    assert read(one + end()).size == MAX_SIZE  # a directory's header size counts, as dive counts it
    two = one + pax({"size": str(MAX_SIZE)}) + header("d2/", typeflag=b"5")
    with pytest.raises(FormatError, match="claim more than"):
        read(two + end())


def test_a_link_target_longer_than_path_max_is_refused():
    from layerscope.model import MAX_PATH

    target = "x" * MAX_PATH
    assert read(pax({"linkpath": target}) + header("l", typeflag=b"2") + end()).files[0].linkname == target
    with pytest.raises(UnsafeInputError, match=f"link target of {8 << 20} characters"):  # 60 of them: 1.5 GB
        read(pax({"linkpath": "x" * (8 << 20)}) + header("l", typeflag=b"2") + end())
