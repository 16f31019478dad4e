"""A layer blob as a stream: downloaded by a thread while the caller decodes.

The download runs ahead by up to QUEUE_CHUNKS chunks, so network time overlaps
decompression and tar walking. When the connection drops mid-blob, the download
resumes with `Range: bytes=N-` (or, if the server ignores ranges, re-reads and skips the
first N bytes), up to the configured retries. The bytes are counted against the
descriptor's size; the digest is checked by the layer reader, which hashes every byte.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from types import TracebackType

import httpx

from layerscope.errors import DigestError, FormatError, LayerscopeError, RegistryError
from layerscope.sources.handle import Descriptor
from layerscope.sources.registry.client import DROPPED, RegistryClient, backoff, describe

QUEUE_CHUNKS = 128  # chunks as received (at most 64 KiB each): up to 8 MiB in flight
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
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._produce, name="blob-download", daemon=True)
        self._thread.start()

    # -- consumer side -------------------------------------------------------------------

    def read(self, size: int = -1, /) -> bytes:
        want = size if size >= 0 else 1 << 62
        while len(self._buf) - self._pos < want and not self._eof:
            item = self._queue.get()
            if item is _EOF:
                self._eof = True
            elif isinstance(item, BaseException):
                self._eof = True
                raise item
            else:
                assert isinstance(item, bytes)
                if self._pos:
                    del self._buf[: self._pos]
                    self._pos = 0
                self._buf += item
        end = min(len(self._buf), self._pos + want)
        out = bytes(self._buf[self._pos : end])
        self._pos = end
        return out

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

    def _produce(self) -> None:
        try:
            self._download()
        except LayerscopeError as err:
            self._put(err)
        except Exception as err:  # keep the consumer from waiting forever on a bug
            self._put(RegistryError(f"downloading {self.what} failed: {type(err).__name__}: {describe(err)}"))
        else:
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
                if not self._put(chunk):
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
