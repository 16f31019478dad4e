"""A layer blob as a stream: downloaded by a thread while the caller decodes.

The download runs ahead by up to QUEUE_BATCHES batches of about BATCH_BYTES, so network
time overlaps decompression and tar walking. Chunks cross from the download thread in
batches and are handed to the reader as they are where a read takes a whole chunk: a
queue hand-over per 64 KiB chunk and a buffer copied twice had doubled a download's CPU.
When the connection drops mid-blob, the download resumes with `Range: bytes=N-` (or, if
the server ignores ranges, re-reads and skips the first N bytes), up to the configured
retries. The bytes are counted against the descriptor's size, and hashed as they arrive,
in the download thread (`digest_algorithm`, `digest()`): the layer reader takes that digest
instead of hashing them again in a thread of its own, a hand-over less per block. The
reader checks it against the descriptor once the blob is read to its end.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import re
import threading
import time
from collections import deque
from types import TracebackType

import httpx

from layerscope.errors import DigestError, FormatError, LayerscopeError, RegistryError
from layerscope.sources.handle import Descriptor
from layerscope.sources.registry.client import DROPPED, RegistryClient, backoff, describe

BATCH_BYTES = 1 << 20  # chunks as received (at most 64 KiB each) are handed over in batches of this
QUEUE_BATCHES = 8  # up to ~8 MiB in flight
_EOF = object()
_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")


class _Dropped(Exception):
    """The body ended before its end: resume."""


class BlobStream:
    def __init__(self, client: RegistryClient, desc: Descriptor, what: str) -> None:
        if desc.digest is None:
            raise FormatError(f"{what} has no digest")
        self.client = client
        self.desc = desc
        self.what = what
        self.path = f"/v2/{client.name.repository}/blobs/{desc.digest}"
        self.received = 0
        algorithm = desc.digest.partition(":")[0]
        self.digest_algorithm = algorithm if algorithm in ("sha256", "sha512") else "sha256"
        self._hash = hashlib.new(self.digest_algorithm)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._stop = threading.Event()
        self._batch: list[bytes] = []  # producer side: received, not handed over yet
        self._batch_bytes = 0
        self._chunks: deque[bytes] = deque()  # consumer side: handed over, not read yet
        self._head = b""  # the chunk being read, from _head_pos on
        self._head_pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._produce, name="blob-download", daemon=True)
        self._thread.start()

    # -- consumer side -------------------------------------------------------------------

    def read(self, size: int = -1, /) -> bytes:
        want = size if size >= 0 else 1 << 62
        out: list[bytes] = []
        have = 0
        while have < want:
            if self._head_pos >= len(self._head) and not self._next_chunk():
                break
            head, pos = self._head, self._head_pos
            take = min(want - have, len(head) - pos)
            out.append(head if pos == 0 and take == len(head) else head[pos : pos + take])
            self._head_pos = pos + take
            have += take
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, buf: bytearray | memoryview) -> int:
        """Chunks copied straight into `buf` (a decoder's input buffer): one copy, no join."""
        view = memoryview(buf).cast("B")
        want = len(view)
        have = 0
        while have < want:
            if self._head_pos >= len(self._head) and not self._next_chunk():
                break
            head, pos = self._head, self._head_pos
            take = min(want - have, len(head) - pos)
            view[have : have + take] = memoryview(head)[pos : pos + take]
            self._head_pos = pos + take
            have += take
            if have and not self._chunks and self._queue.empty():
                break  # what has arrived so far: the decoder need not wait for a full buffer
        return have

    def _next_chunk(self) -> bool:
        while not self._chunks:
            if self._eof:
                return False
            item = self._queue.get()
            if item is _EOF:
                self._eof = True
                return False
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            assert isinstance(item, list)
            self._chunks.extend(item)
        self._head = self._chunks.popleft()
        self._head_pos = 0
        return True

    def digest(self) -> str:
        """Of every byte received (and handed out, in order): the whole blob once read to its end."""
        return f"{self.digest_algorithm}:{self._hash.hexdigest()}"

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a producer waiting on a full queue
        self._thread.join()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- producer side -------------------------------------------------------------------

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _flush(self) -> bool:
        if not self._batch:
            return True
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        return self._put(batch)

    def _produce(self) -> None:
        try:
            self._download()
        except LayerscopeError as err:
            if self._flush():
                self._put(err)
        except Exception as err:  # keep the consumer from waiting forever on a bug
            if self._flush():
                self._put(RegistryError(f"downloading {self.what} failed: {type(err).__name__}: {describe(err)}"))
        else:
            if self._flush():
                self._put(_EOF)

    def _download(self) -> None:
        drops = 0
        size = self.desc.size
        while not self._stop.is_set():
            try:
                self._fetch_from(self.received)
            except _Dropped as err:
                drops += 1
                if drops > self.client.options.retries:
                    of = f" of {size}" if size is not None else ""
                    raise RegistryError(
                        f"the connection to {self.client.host} dropped {drops} times while downloading "
                        f"{self.what} ({self.received}{of} bytes received): {err}"
                    ) from None
                time.sleep(backoff(drops))
                continue
            return

    def _fetch_from(self, offset: int) -> None:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = self.client.request("GET", self.path, headers, what=f"{self.what} ({self.desc.digest})")
        try:
            skip = self._start(response, offset)
            for chunk in response.iter_raw():  # as received: a chunker would lose its buffer on a drop
                if self._stop.is_set():
                    return
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                    if not chunk:
                        continue
                self.received += len(chunk)
                if self.desc.size is not None and self.received > self.desc.size:
                    raise DigestError(f"{self.what} is larger than the {self.desc.size} bytes its descriptor says")
                self._hash.update(chunk)
                self._batch.append(chunk)
                self._batch_bytes += len(chunk)
                if self._batch_bytes >= BATCH_BYTES and not self._flush():
                    return
        except httpx.TimeoutException:
            raise RegistryError(
                f"{self.client.host} stopped sending {self.what} for {self.client.options.timeout:g}s "
                f"({self.received} bytes received)"
            ) from None
        except DROPPED as err:
            raise _Dropped(describe(err)) from None
        finally:
            response.close()
        if self.desc.size is not None and self.received < self.desc.size:
            raise _Dropped("the body ended early")

    def _start(self, response: httpx.Response, offset: int) -> int:
        """Check the status; how many leading bytes to skip (a 200 to a range request)."""
        if response.status_code == 200:
            return offset
        if response.status_code == 206 and offset:
            m = _RANGE.match(response.headers.get("content-range", ""))
            if not m or int(m.group(1)) != offset:
                raise RegistryError(f"{self.client.host} answered a resumed download of {self.what} with a wrong range")
            return 0
        raise self.client.fail(response, f"{self.what} ({self.desc.digest})")
