"""The buffers of the large-blob path (blobs.py): how many the process may hold, the ring
one download fills, and the thread that hashes what the download receives.

A buffer goes round: filled by the download thread, then read by the decoder and hashed by
the hashing thread, each at its own pace, and filled again once both are done with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable

from layerscope.layers.priority import lower_priority

HASH_QUEUE = 32  # chunks received and not yet hashed, at most (the download waits beyond)


class Budget:
    """Buffers for the whole process, so memory does not grow with the workers."""

    def __init__(self, buffers: int) -> None:
        self._left = buffers
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self._left < n:
                return False
            self._left -= n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self._left += n

    @property
    def left(self) -> int:
        return self._left


class Ring:
    """The buffers of one download: up to `count` of `size` bytes, made as they are first
    needed; a chunk's buffer is filled again once each of its holders released it."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self.made = 0
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._holds: dict[int, int] = {}  # id(buffer) -> holders not done with it yet
        self._lock = threading.Lock()

    def take(self, stop: threading.Event) -> bytearray | None:
        """A buffer to fill: the next one given back (a new one while fewer than `count`
        exist); None once `stop` is set."""
        if self.made < self.count:
            self.made += 1
            return bytearray(self.size)
        while not stop.is_set():
            with contextlib.suppress(queue.Empty):
                return self._free.get(timeout=0.1)
        return None

    def hold(self, chunk: memoryview, holders: int) -> None:
        with self._lock:
            self._holds[id(chunk.obj)] = holders

    def release(self, chunk: memoryview) -> None:
        """One holder is done with the chunk; the last one gives its buffer back."""
        buf = chunk.obj
        with self._lock:
            left = self._holds.pop(id(buf)) - 1
            if left:
                self._holds[id(buf)] = left
                return
        self._free.put(buf)  # type: ignore[arg-type]

    def holders(self) -> list[int]:
        """How many holders each buffer in use still has."""
        with self._lock:
            return list(self._holds.values())

    @property
    def all_back(self) -> bool:
        """Every buffer made is given back."""
        return self._free.qsize() == self.made and not self._holds


class Hasher:
    """Hashes chunks in a thread of its own, at a lower priority, in the order they were
    received; `done(chunk)` once a buffer's chunk is hashed.

    Chunks are hashed as they arrive, not after the reader is done with them: when the
    hasher gets the CPU it works ahead of the decoder, and that lead absorbs the times it
    does not (on two busy cores it fell 50-60 MiB behind, holding every buffer, and the
    decoder waited for the download, ~1 s on the 3.2 GB layer).
    """

    def __init__(self, hasher: hashlib._Hash, done: Callable[[memoryview], None]) -> None:
        self._hash = hasher
        self._done = done
        self._queue: queue.Queue[bytes | memoryview | None] = queue.Queue(maxsize=HASH_QUEUE)
        self._thread = threading.Thread(target=self._run, name="blob-hash", daemon=True)
        self._thread.start()

    def add(self, chunk: bytes | memoryview) -> None:
        self._queue.put(chunk)

    def _run(self) -> None:
        lower_priority()
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)
            if isinstance(chunk, memoryview):
                self._done(chunk)

    def finish(self) -> None:
        """Once every chunk added so far is hashed (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    @property
    def thread(self) -> threading.Thread:
        return self._thread
