"""Byte-stream plumbing for layer blobs: hashing, counting, sniffing, decompression."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
import zlib
from typing import Protocol, cast

from layerscope.errors import UnsafeInputError


class Readable(Protocol):
    """Anything with read(n) -> bytes: files, decoders, SDK streams, archive members."""

    def read(self, size: int = -1, /) -> bytes: ...


class SelfHashing(Protocol):
    """A stream that hashes every byte it hands out, with `digest_algorithm`; `digest()` is
    "algorithm:hex" of what it handed out, once it was read to its end."""

    digest_algorithm: str

    def digest(self) -> str: ...


class Counted(Protocol):
    """A compressed stream that counts the bytes read from it (what a bomb guard compares to)."""

    count: int


GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# What the gzip decoders raise on bad data besides EOFError: isal's IsalError and the
# stdlib's zlib.error are not OSErrors (bad magic, CRC and length errors are).
try:
    from isal.igzip_lib import IsalError

    # (isal's stub declares IsalError as an instance; it is the exception class)
    GZIP_ERRORS: tuple[type[Exception], ...] = (OSError, zlib.error, cast("type[Exception]", IsalError))
except ImportError:  # pragma: no cover - the stdlib fallback
    GZIP_ERRORS = (OSError, zlib.error)

# A decompression bomb: past this many output bytes, more than RATIO output bytes per input
# byte. Real layers stay far below (text compresses ~5x, a tar of empty files ~50x).
BOMB_MIN_BYTES = 256 << 20
BOMB_RATIO = 200
# Blocks handed over by the threaded gzip decoder (the tar walker reads as much at a time,
# so a block is taken whole), and how many wait, decoded, ahead of the walk. Every hand-over
# takes the GIL from the walker: a few large blocks keep the decoder from waiting on it.
THREAD_BLOCK = 4 << 20
THREAD_AHEAD = 4
# What the threaded gzip decoder reads at a time (isal's own default is 512 KiB): one call
# back into Python, so one GIL hand-over, per read.
GZIP_INPUT = 4 << 20


class HashingReader(io.RawIOBase):
    """Pass-through reader that counts and optionally hashes what flows through.

    With `background`, a thread of its own reads the blob THREAD_AHEAD blocks ahead and
    hashes it (hashlib and file reads let go of the GIL), so the decoder that reads through
    here only decodes: it takes whole blocks off a queue instead of waiting on the file and
    handing every 512 KiB piece to a hashing thread (a GIL hand-over each time, which kept
    the decoder of a multi-GB layer waiting). `digest` is the hash of the whole blob once it
    was read to its end; `finish()` must be called in every case (it ends the thread).
    """

    def __init__(self, inner: Readable, hash_it: bool, algorithm: str = "sha256", background: bool = False) -> None:
        self._inner = inner
        self._algorithm = algorithm
        # A stream that hashes what it hands out itself (a registry download, in the thread
        # that receives it) is not hashed again: its digest is taken.
        self._hashed_by: SelfHashing | None = None
        if hash_it and getattr(inner, "digest_algorithm", None) == algorithm:
            self._hashed_by = cast("SelfHashing", inner)
            hash_it = False
        self._hash = hashlib.new(algorithm) if hash_it else None
        self.count = 0
        self._ahead: DecodeAhead | None = None
        self._hashed: _Hashed | None = None
        if self._hash is not None and background:
            self._hashed = _Hashed(inner, self._hash)
            self._ahead = DecodeAhead(self._hashed, name="blob-read")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._ahead is not None:
            data = self._ahead.read(size)
            self.count += len(data)
            return data
        data = self._inner.read(size)
        if data:
            self.count += len(data)
            if self._hash is not None:
                self._hash.update(data)
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._ahead is not None:
            n = self._ahead.readinto(buf)
            self.count += n
            return n
        inner_into = getattr(self._inner, "readinto", None)
        if self._hash is None and inner_into is not None:  # nothing to hash here: no copy either
            n = int(inner_into(buf))
            self.count += n
            return n
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """End the reading thread (after it hashed everything it read)."""
        if self._ahead is not None:
            self._ahead.close()

    def stop_hashing(self) -> None:
        self._hashed_by = None
        if self._hashed is not None:
            self._hashed.hashing = False  # the thread reads on, without hashing
        self._hash = None

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    @property
    def digest(self) -> str | None:
        self.finish()
        if self._hashed_by is not None:
            return self._hashed_by.digest()
        return None if self._hash is None else f"{self._algorithm}:{self._hash.hexdigest()}"


class _Hashed:
    """`inner` read and hashed by the thread of a DecodeAhead (see HashingReader)."""

    def __init__(self, inner: Readable, hash_obj: hashlib._Hash) -> None:
        self._inner = inner
        self._hash = hash_obj
        self.hashing = True

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        if data and self.hashing:
            self._hash.update(data)
        return data


class DecodeAhead(io.RawIOBase):
    """Reads `inner` (a decoder) in a thread of its own, THREAD_AHEAD blocks ahead.

    A block is handed to a read that takes it whole as it is (no copy). An error of the
    decoder (truncation, bad data) is raised here once the blocks before it are read.
    close() stops and joins the thread; it must be called on every path.
    """

    def __init__(self, inner: Readable, name: str = "gzip-decode") -> None:
        self._inner = inner
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=THREAD_AHEAD)
        self._stop = threading.Event()
        self._head = b""
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._decode, name=name, daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def _decode(self) -> None:
        item: bytes | BaseException
        while not self._stop.is_set():
            try:
                item = self._inner.read(THREAD_BLOCK)
            except BaseException as err:  # handed over to the reader, in stream order
                item = err
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if not isinstance(item, bytes) or not item:
                return

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        out: list[bytes] = []
        have = 0
        while have < want:
            if self._pos >= len(self._head):
                if self._eof:
                    break
                item = self._queue.get()
                if isinstance(item, BaseException):
                    self._eof = True
                    raise item
                if not item:
                    self._eof = True
                    break
                self._head, self._pos = item, 0
            head, pos = self._head, self._pos
            take = min(want - have, len(head) - pos)
            out.append(head if pos == 0 and take == len(head) else head[pos : pos + take])
            self._pos = pos + take
            have += take
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        # One copy, from the block into the caller's buffer (isal's reader reads this way).
        if self._pos >= len(self._head):
            if self._eof:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
                return 0
            self._head, self._pos = item, 0
        take = min(len(buf), len(self._head) - self._pos)
        buf[:take] = memoryview(self._head)[self._pos : self._pos + take]
        self._pos += take
        return take

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a decoder waiting on a full queue
        self._thread.join()
        super().close()


class PrefixedReader(io.RawIOBase):
    """A stream whose first bytes were already read (to sniff them)."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                if size < 0:
                    return head + self._rest.read()
                more = self._rest.read(size - len(head)) if size > len(head) else b""
                return head + more
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._rest.read(size)

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        rest_into = getattr(self._rest, "readinto", None)
        if not self._head and rest_into is not None:
            return int(rest_into(buf))
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class BombGuard(io.RawIOBase):
    """Stops reading when the decompressed stream is far larger than its compressed input."""

    def __init__(self, inner: Readable, compressed: Counted) -> None:
        self._inner = inner
        self._compressed = compressed
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.count += len(data)
        if self.count > BOMB_MIN_BYTES and self.count > BOMB_RATIO * max(self._compressed.count, 1):
            raise UnsafeInputError(
                f"decompression bomb: {self.count} bytes out of {self._compressed.count} compressed "
                f"(more than {BOMB_RATIO}x); refusing to read further"
            )
        return data


def sniff(head: bytes) -> str:
    """Compression of a blob from its first bytes: "gzip", "zstd" or "none"."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if len(head) >= 4 and head[0] & 0xF0 == 0x50 and head[1:4] == b"\x2a\x4d\x18":
        return "zstd"  # a zstd stream may open with a skippable frame (magic 0x184D2A5?)
    return "none"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def open_decompressed(stream: Readable, compression: str, threaded: bool = False) -> Readable:
    """A decoder over `stream`; the caller closes it (a threaded one owns a thread).

    `threaded` (gzip with isal, which lets go of the GIL): a thread reads and decodes the
    blob a few MiB ahead (DecodeAhead) while the caller walks the tar.
    """
    if compression == "gzip":
        try:
            from isal import igzip

            if threaded:
                # isal's reader itself (what IGzipFile wraps), with a larger input buffer.
                reader = getattr(igzip, "_IGzipReader", None)
                if reader is not None:
                    return DecodeAhead(reader(stream, GZIP_INPUT))
                return DecodeAhead(igzip.IGzipFile(fileobj=stream, mode="rb"))  # type: ignore[no-untyped-call]
            return igzip.IGzipFile(fileobj=stream, mode="rb")  # type: ignore[no-untyped-call]
        except ImportError:  # pragma: no cover - the stdlib fallback
            import gzip

            return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[call-overload,no-any-return]
    if compression == "zstd":
        import zstandard

        from layerscope.layers.zstd import ZstdReader  # imported with zstandard, on the paths that read zstd

        return ZstdReader(stream, zstandard)
    return stream
