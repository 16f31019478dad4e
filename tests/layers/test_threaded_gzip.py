"""The threaded gzip decoder (isal's, a thread reading, hashing and decoding ahead of the
walk) gives the same records and refuses the same bad blobs as the decoder in line."""

from __future__ import annotations

import gzip
import io
import os
import random
import threading

import pytest

from layerscope.errors import DigestError, FormatError, UnsafeInputError
from layerscope.layers import reader, streams
from layerscope.layers.reader import read_layer
from tests.support.factory import d, f, layer_tar, sha, sym, wh
from tests.support.tarcraft import gzip_bomb

pytest.importorskip("isal", reason="no isal: gzip is decoded by the stdlib, in line")


class Chunks(io.RawIOBase):
    """A non-seekable stream that hands out at most `step` bytes a read, as sockets do."""

    def __init__(self, data: bytes, step: int = 70_000) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def readinto(self, buf):  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def _big_tar() -> bytes:
    """Several MiB in many entries, so the decoder thread hands over many blocks."""
    rnd = random.Random(7)
    entries = [d("data")]
    for i in range(400):
        body = rnd.randbytes(rnd.randrange(0, 20_000)) + b"x" * rnd.randrange(0, 30_000)
        entries.append(f(f"data/{i:04}.bin", body))
    entries += [sym("data/link", "0001.bin"), wh("data/gone"), f("var/lib/dpkg/status", b"Package: a\n\n")]
    return layer_tar(entries)


BIG = _big_tar()
BIG_GZ = gzip.compress(BIG, compresslevel=6, mtime=0)


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch):
    # Blocks far smaller than the product's, so that a layer of a few MiB spans many.
    monkeypatch.setattr(streams, "THREAD_BLOCK", 256 << 10)
    monkeypatch.setattr(streams, "GZIP_INPUT", 64 << 10)


def _read(blob: bytes, threaded: bool, monkeypatch: pytest.MonkeyPatch, **kw):
    monkeypatch.setattr(reader, "OVERLAP", threaded)
    return read_layer(Chunks(blob), **kw)


def test_the_big_layer_spans_many_decoder_blocks():
    assert len(BIG) > 8 * streams.THREAD_BLOCK


def test_threaded_and_inline_decoders_give_the_same_record(monkeypatch):
    kw = {"verify": True, "expected_digest": sha(BIG_GZ), "expected_diff_id": sha(BIG)}
    threaded = _read(BIG_GZ, True, monkeypatch, **kw)
    inline = _read(BIG_GZ, False, monkeypatch, **kw)
    assert threaded == inline
    assert threaded.stored_digest == sha(BIG_GZ) and threaded.diff_id == sha(BIG)
    assert threaded.stored_bytes == len(BIG_GZ) and threaded.uncompressed_bytes == len(BIG)
    assert len(threaded.files) == 403 and threaded.whiteouts == ("data/gone",)
    assert [p for p, _ in threaded.captured] == ["var/lib/dpkg/status"]


def test_the_whole_blob_is_hashed_even_past_the_tar_end(monkeypatch):
    # Bytes after the gzip member (an eStargz footer, say) are read by the drain after the
    # decoder thread has stopped: the digest still covers every byte, in order.
    blob = BIG_GZ + gzip.compress(b"", mtime=0)
    got = _read(blob, True, monkeypatch, expected_digest=sha(blob))
    assert got.stored_digest == sha(blob) and got.stored_bytes == len(blob)


@pytest.mark.parametrize("threaded", [True, False])
def test_digest_mismatch_is_refused(monkeypatch, threaded):
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestError, match="digest mismatch"):
        _read(BIG_GZ, threaded, monkeypatch, expected_digest=wrong)


@pytest.mark.parametrize("threaded", [True, False])
def test_diff_id_mismatch_is_refused(monkeypatch, threaded):
    with pytest.raises(DigestError, match="diff_id mismatch"):
        _read(BIG_GZ, threaded, monkeypatch, verify=True, expected_diff_id=sha(b"other"))


@pytest.mark.parametrize("threaded", [True, False])
@pytest.mark.parametrize("cut", [20, len(BIG_GZ) // 3, len(BIG_GZ) - 5])
def test_truncated_stream_is_refused(monkeypatch, threaded, cut):
    with pytest.raises(FormatError, match=r"truncated"):
        _read(BIG_GZ[:cut], threaded, monkeypatch)


@pytest.mark.parametrize("threaded", [True, False])
def test_corrupt_deflate_data_is_refused(monkeypatch, threaded):
    at = len(BIG_GZ) // 2
    bad = BIG_GZ[:at] + bytes([BIG_GZ[at] ^ 0xFF]) + BIG_GZ[at + 1 :]
    with pytest.raises((FormatError, DigestError)):
        _read(bad, threaded, monkeypatch, expected_digest=sha(BIG_GZ))


@pytest.mark.parametrize("threaded", [True, False])
def test_bomb_is_refused(monkeypatch, threaded):
    monkeypatch.setattr(streams, "BOMB_MIN_BYTES", 1 << 20)
    monkeypatch.setattr(reader, "OVERLAP", threaded)
    with pytest.raises(UnsafeInputError, match="decompression bomb"):
        read_layer(io.BytesIO(b"".join(gzip_bomb(64 << 20))))


def test_no_decoder_thread_is_left_running_after_a_failure(monkeypatch):
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(FormatError):
            _read(BIG_GZ[: len(BIG_GZ) // 2], True, monkeypatch)
        with pytest.raises(DigestError):
            _read(BIG_GZ, True, monkeypatch, expected_digest="sha256:" + "1" * 64)
    assert threading.active_count() == before


def test_threads_are_used_only_with_a_second_core():
    assert reader.OVERLAP is (streams.usable_cores() > 1)
    assert streams.usable_cores() >= 1 and streams.usable_cores() <= (os.cpu_count() or 1)


class _Failing(io.RawIOBase):
    """Two blocks of data, then the error a decoder raises at a cut."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls <= 2:
            return bytes([self.calls]) * streams.THREAD_BLOCK
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")


def test_decode_ahead_hands_over_the_data_before_an_error_then_the_error():
    ahead = streams.DecodeAhead(_Failing())
    try:
        assert ahead.read(10) == b"\x01" * 10
        assert ahead.read(streams.THREAD_BLOCK) == b"\x01" * (streams.THREAD_BLOCK - 10) + b"\x02" * 10
        assert ahead.read(streams.THREAD_BLOCK - 10) == b"\x02" * (streams.THREAD_BLOCK - 10)
        with pytest.raises(EOFError):
            ahead.read(1)
        assert ahead.read(1) == b""  # the error is raised once; the stream has ended
    finally:
        ahead.close()
    assert not ahead._thread.is_alive()


def test_decode_ahead_closed_early_stops_its_thread():
    ahead = streams.DecodeAhead(io.BytesIO(bytes(64 * streams.THREAD_BLOCK)))
    assert len(ahead.read(100)) == 100
    ahead.close()
    assert not ahead._thread.is_alive()


def test_background_hash_reads_ahead_and_hashes_the_whole_blob():
    """The blob is read and hashed by a thread a block ahead; reads and readinto mixed,
    in pieces smaller and larger than a block, give back the blob and its digest."""
    blob = random.Random(3).randbytes(3 * streams.THREAD_BLOCK + 12_345)
    stored = streams.HashingReader(Chunks(blob, step=300_000), True, background=True)
    try:
        out = bytearray(stored.read(4))
        buf = bytearray(512 * 1024)
        while n := stored.readinto(buf):
            out += buf[:n]
            out += stored.read(70_001)
        assert bytes(out) == blob
        assert stored.count == len(blob)
        assert stored.digest == sha(blob)
    finally:
        stored.finish()
    assert stored._ahead is not None and not stored._ahead._thread.is_alive()


def test_background_hash_stopped_early_ends_its_thread_and_reports_no_digest():
    stored = streams.HashingReader(io.BytesIO(bytes(16 * streams.THREAD_BLOCK)), True, background=True)
    assert stored.read(4) == bytes(4)
    stored.stop_hashing()
    assert len(stored.read(streams.THREAD_BLOCK)) == streams.THREAD_BLOCK  # reads on, unhashed
    stored.finish()
    assert stored._ahead is not None and not stored._ahead._thread.is_alive()
    assert stored.digest is None


def test_background_hash_hands_over_a_read_error_in_order():
    stored = streams.HashingReader(_Failing(), True, background=True)
    try:
        assert stored.read(streams.THREAD_BLOCK) == b"\x01" * streams.THREAD_BLOCK
        assert stored.read(streams.THREAD_BLOCK) == b"\x02" * streams.THREAD_BLOCK
        with pytest.raises(EOFError):
            stored.read(1)
    finally:
        stored.finish()
