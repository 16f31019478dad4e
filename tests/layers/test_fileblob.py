"""A compressed blob on disk (an OCI layout's blob, an archive's member) is hashed by a thread
that reads the file itself while the decoder reads it too: the same records, digests and
refusals as the stream path, and no thread left behind."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.errors import DigestError, FormatError, UnsafeInputError
from layerscope.layers import fileblob, reader, streams
from layerscope.layers.fileblob import FileHasher, PositionalReader, file_extent
from layerscope.layers.reader import read_layer
from layerscope.sources.stores import TarStore
from tests.support.factory import compress, d, f, layer_tar, sha, sym, wh, write_tar
from tests.support.tarcraft import gzip_bomb


def _tar() -> bytes:
    rnd = random.Random(11)
    entries = [d("app")]
    for i in range(300):
        entries.append(f(f"app/{i:03}.bin", rnd.randbytes(rnd.randrange(0, 9_000)) + b"y" * rnd.randrange(0, 40_000)))
    entries += [sym("app/link", "001.bin"), wh("app/old"), f("var/lib/dpkg/status", b"Package: a\n\n")]
    return layer_tar(entries)


TAR = _tar()
GZ = gzip.compress(TAR, compresslevel=6, mtime=0)


@pytest.fixture
def hashers(monkeypatch) -> list[tuple[int, int]]:
    """(start, length) of every FileHasher started: proof that the file path was taken."""
    started: list[tuple[int, int]] = []

    class Spy(FileHasher):
        def __init__(self, fd: int, start: int, length: int, algorithm: str = "sha256") -> None:
            started.append((start, length))
            super().__init__(fd, start, length, algorithm)

    monkeypatch.setattr(reader, "FileHasher", Spy)
    return started


@pytest.fixture(autouse=True)
def _threads_and_small_pieces(monkeypatch):
    monkeypatch.setattr(reader, "OVERLAP", True)
    monkeypatch.setattr(fileblob, "HASH_PIECE", 100_003)  # many pieces, the last one short
    monkeypatch.setattr(streams, "THREAD_BLOCK", 256 << 10)
    monkeypatch.setattr(streams, "GZIP_INPUT", 64 << 10)


def _stream_record(blob: bytes, **kw):
    """The same blob read as a stream (no file behind it): the path every other source takes."""
    return read_layer(_Stream(blob), **kw)


class _Stream(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._b.read(size)


def _file(tmp_path: Path, data: bytes, name: str = "blob") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# -- file_extent -------------------------------------------------------------------------


def test_an_open_file_is_the_rest_of_it_from_its_position(tmp_path):
    p = _file(tmp_path, b"0123456789")
    with open(p, "rb") as fh:
        fh.read(3)
        fd, start, length = file_extent(fh)  # type: ignore[misc]
        assert (fd, start, length) == (fh.fileno(), 3, 7)


def test_an_archive_member_gives_its_place_in_the_archive(tmp_path):
    archive = tmp_path / "a.tar"
    write_tar(str(archive), [("first", b"x" * 1000), ("blob", GZ)])
    store = TarStore(str(archive))
    with store.open("blob") as member:
        fd, start, length = file_extent(member)  # type: ignore[misc]
        assert length == len(GZ)
        assert os.pread(fd, length, start) == GZ


def test_streams_pipes_and_memory_have_no_extent(tmp_path):
    assert file_extent(io.BytesIO(b"abc")) is None
    assert file_extent(_Stream(b"abc")) is None
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", buffering=0) as pipe:
            assert file_extent(pipe) is None
    finally:
        os.close(w)


# -- the hashing thread and the positional reader ----------------------------------------


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300_000), cut=st.data())
def test_the_hasher_hashes_exactly_its_stretch(tmp_path_factory, data, cut):
    p = tmp_path_factory.mktemp("h") / "f"
    p.write_bytes(data)
    start = cut.draw(st.integers(0, len(data)))
    length = cut.draw(st.integers(0, len(data) - start))
    fd = os.open(p, os.O_RDONLY)
    try:
        h = FileHasher(fd, start, length)
        assert h.digest() == "sha256:" + hashlib.sha256(data[start : start + length]).hexdigest()
        assert h.count == length
        h.stop()
        r = PositionalReader(fd, start, length)
        buf = bytearray(7_777)
        got = bytearray()
        while n := r.readinto(buf):
            got += buf[:n]
        assert bytes(got) == data[start : start + length] and r.count == length
    finally:
        os.close(fd)


def test_a_file_shorter_than_its_stretch_is_refused(tmp_path):
    p = _file(tmp_path, bytes(1000))
    fd = os.open(p, os.O_RDONLY)
    try:
        h = FileHasher(fd, 0, 5000)
        with pytest.raises(FormatError, match="truncated blob"):
            h.digest()
    finally:
        os.close(fd)


# -- read_layer on a file: the same as on a stream -----------------------------------------


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_a_blob_file_reads_to_the_same_record_as_its_stream(tmp_path, how, hashers):
    blob = GZ if how == "gzip" else compress(TAR, how)
    kw = {"verify": True, "expected_digest": sha(blob), "expected_diff_id": sha(TAR)}
    with open(_file(tmp_path, blob), "rb") as fh:
        from_file = read_layer(fh, **kw)
    assert hashers == [(0, len(blob))]  # read by the file path, not as a stream
    from_stream = _stream_record(blob, **kw)
    assert from_file == from_stream
    assert from_file.stored_digest == sha(blob) and from_file.diff_id == sha(TAR)
    assert from_file.stored_bytes == len(blob) and from_file.uncompressed_bytes == len(TAR)
    assert len(from_file.files) == 303 and from_file.whiteouts == ("app/old",)


def test_an_archive_member_blob_reads_to_the_same_record(tmp_path, hashers):
    archive = tmp_path / "a.tar"
    write_tar(str(archive), [("pad", b"z" * 777), ("blob", GZ), ("after", b"q" * 5000)])
    with TarStore(str(archive)).open("blob") as member:
        got = read_layer(member, expected_digest=sha(GZ))
    assert len(hashers) == 1 and hashers[0][0] > 777 and hashers[0][1] == len(GZ)  # the member's stretch
    assert got == _stream_record(GZ, expected_digest=sha(GZ))


def test_bytes_after_the_gzip_stream_are_hashed_too(tmp_path, hashers):
    blob = GZ + gzip.compress(b"", mtime=0)  # an eStargz-like footer
    with open(_file(tmp_path, blob), "rb") as fh:
        got = read_layer(fh, expected_digest=sha(blob))
    assert hashers == [(0, len(blob))]
    assert got.stored_digest == sha(blob) and got.stored_bytes == len(blob)


def test_a_wrong_digest_is_refused(tmp_path):
    with open(_file(tmp_path, GZ), "rb") as fh, pytest.raises(DigestError, match="digest mismatch"):
        read_layer(fh, expected_digest="sha256:" + "0" * 64)


def test_a_wrong_diff_id_is_refused(tmp_path):
    with open(_file(tmp_path, GZ), "rb") as fh, pytest.raises(DigestError, match="diff_id mismatch"):
        read_layer(fh, verify=True, expected_diff_id=sha(b"other"))


@pytest.mark.parametrize("cut", [20, len(GZ) // 3, len(GZ) - 5])
def test_a_truncated_blob_file_is_refused(tmp_path, cut):
    with open(_file(tmp_path, GZ[:cut]), "rb") as fh, pytest.raises(FormatError, match="truncated"):
        read_layer(fh)


def test_corrupt_deflate_data_is_refused(tmp_path):
    at = len(GZ) // 2
    bad = GZ[:at] + bytes([GZ[at] ^ 0xFF]) + GZ[at + 1 :]
    with open(_file(tmp_path, bad), "rb") as fh, pytest.raises((FormatError, DigestError)):
        read_layer(fh, expected_digest=sha(GZ))


def test_a_bomb_on_disk_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(streams, "BOMB_MIN_BYTES", 1 << 20)
    bomb = _file(tmp_path, b"".join(gzip_bomb(64 << 20)))
    with open(bomb, "rb") as fh, pytest.raises(UnsafeInputError, match="decompression bomb"):
        read_layer(fh)


def test_no_thread_is_left_running_after_reads_and_failures(tmp_path):
    good = _file(tmp_path, GZ, "good")
    cut = _file(tmp_path, GZ[: len(GZ) // 2], "cut")
    before = threading.active_count()
    for _ in range(3):
        with open(good, "rb") as fh:
            read_layer(fh)
        with open(cut, "rb") as fh, pytest.raises(FormatError):
            read_layer(fh)
        with open(good, "rb") as fh, pytest.raises(DigestError):
            read_layer(fh, expected_digest="sha256:" + "1" * 64)
    assert threading.active_count() == before


def test_an_unreadable_blob_file_is_one_clear_error(tmp_path, monkeypatch):
    def failing_pread(fd: int, n: int, offset: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(reader.os, "pread", failing_pread)
    with open(_file(tmp_path, GZ), "rb") as fh, pytest.raises(FormatError, match="cannot read layer: Input/output"):
        read_layer(fh)


def test_an_uncompressed_blob_file_keeps_the_seeking_walk(tmp_path, hashers):
    # Without --verify an uncompressed blob is walked by seeking over file data: nothing
    # is hashed, and the file path is not taken.
    with open(_file(tmp_path, TAR), "rb") as fh:
        got = read_layer(fh)
    assert got.stored_digest is None and got.stored_bytes == len(TAR) and len(got.files) == 303
    assert hashers == []
