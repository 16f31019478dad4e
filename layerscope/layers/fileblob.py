"""A layer blob that is a stretch of a file on disk (an OCI layout's blob, an archive's member).

Such a blob is read twice, side by side, by positional reads (no shared file position):
a thread of its own hashes it in large pieces, and the decoder reads it for itself. The
decoder then never waits on a hand-over from the hashing thread, and each of them takes
the GIL once per piece: on a 3.2 GB gzip layer the hand-over had kept the decoder waiting
for 1.2-1.4 s of an 8 s read (docs/performance.md, section 10). The second read costs a
copy from the page cache, on the hashing thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import threading

from layerscope.errors import FormatError
from layerscope.layers.priority import lower_priority

HASH_PIECE = 8 << 20  # the hashing thread reads and hashes this much at a time (GIL let go for both)


def file_extent(blob: object) -> tuple[int, int, int] | None:
    """(descriptor, start, length) of a blob that is a stretch of a regular file; else None.

    A store's member says so itself (`extent`); an open regular file is the rest of it
    from its position.
    """
    extent = getattr(blob, "extent", None)
    if extent is not None:
        fd, start, length = extent
        return int(fd), int(start), int(length)
    fileno = getattr(blob, "fileno", None)
    tell = getattr(blob, "tell", None)
    if fileno is None or tell is None:
        return None
    try:
        fd = int(fileno())
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        start = int(tell())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return fd, start, max(0, st.st_size - start)


class PositionalReader(io.RawIOBase):
    """`length` bytes of a file from `start`, read by preads straight into the caller's buffer."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        self._fd = fd
        self._start = start
        self._length = length
        self.count = 0  # bytes read so far (the bomb guard's compressed count)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buf), self._length - self.count)
        if want <= 0:
            return 0
        view = memoryview(buf).cast("B")[:want]
        n = os.preadv(self._fd, [view], self._start + self.count)
        self.count += n
        return n

    def read(self, size: int = -1) -> bytes:
        left = self._length - self.count
        n = left if size < 0 or size > left else size
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._start + self.count)
        self.count += len(data)
        return data


class FileHasher:
    """Hashes `length` bytes of a file from `start` in a thread of its own.

    `digest()` waits for the end and returns "algorithm:hex"; a file that ends early (it
    shrank while read) raises FormatError there. `stop()` ends the thread early; one of
    the two must be called on every path.
    """

    def __init__(self, fd: int, start: int, length: int, algorithm: str = "sha256") -> None:
        self._fd = fd
        self._start = start
        self._length = length
        self._algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.count = 0
        self._thread = threading.Thread(target=self._run, name="blob-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lower_priority()
        buf = bytearray(min(HASH_PIECE, max(self._length, 1)))
        view = memoryview(buf)
        update = self._hash.update
        try:
            while self.count < self._length and not self._stop.is_set():
                want = min(len(buf), self._length - self.count)
                n = os.preadv(self._fd, [view[:want]], self._start + self.count)
                if n <= 0:
                    raise FormatError(
                        f"truncated blob: the file ends {self._length - self.count} bytes early (did it change?)"
                    )
                update(view[:n])
                self.count += n
        except BaseException as err:  # reported by digest(), in the reading thread
            self._error = err

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join()

    def digest(self) -> str:
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, OSError):
                raise FormatError(f"cannot read blob: {self._error.strerror or self._error}")
            raise self._error
        return f"{self._algorithm}:{self._hash.hexdigest()}"
