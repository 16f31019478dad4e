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

A large blob (DIRECT_MIN) is received differently, for the decoder's sake: past h11,
from the socket into buffers that go round, and hashed by a thread of its own as it
arrives (docs/performance.md, section 10).
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from types import TracebackType

import httpx

from layerscope.errors import DigestError, FormatError, LayerscopeError, RegistryError, quote
from layerscope.sources.handle import Descriptor
from layerscope.sources.registry.buffers import Budget, Hasher, Ring
from layerscope.sources.registry.client import DROPPED, RegistryClient, backoff
from layerscope.sources.registry.failures import describe

BATCH_BYTES = 1 << 20  # chunks as received (at most 64 KiB each) are handed over in batches of this
QUEUE_BATCHES = 8  # up to ~8 MiB in flight
# A large blob's body is read from the socket by `recv_into` once httpx has its headers
# (_direct_socket): h11 copies every byte twice in Python, which on a 3.2 GB layer cost the
# download thread ~1 CPU s that the decoder on the other core wants. Its bytes are hashed by
# a thread of its own at a lower priority, as they arrive (buffers.py), so the download thread
# only receives and never keeps the decoder waiting for a hash.
DIRECT_MIN = 128 << 20  # below it, h11's copies cost ~tens of ms: not worth 64 MiB of buffers
DIRECT_BUFFER = 4 << 20  # filled whole by the download thread, then read, hashed and filled again
DIRECT_BUFFERS = 16  # per download: up to 64 MiB received ahead of the decoder and the hash
# Large downloads at a time with buffers of their own; more take the h11 path. One: with two,
# the ML image's 210 MB layer held 64 MiB more (243 MB peak RSS instead of 183) for no gain
# (its decoder waited ~0.25 s less for data, but on two busy cores the wall time did not move).
DIRECT_STREAMS = 1
_EOF = object()
_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")


class _Dropped(Exception):
    """The body ended before its end: resume."""


# The buffer budget of the whole process (tests give it another size).
_BUDGET = Budget(DIRECT_STREAMS * DIRECT_BUFFERS)


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
        self._chunks: deque[bytes | memoryview] = deque()  # consumer side: handed over, not read yet
        self._head: bytes | memoryview = b""  # the chunk being read, from _head_pos on
        self._head_pos = 0
        self._large = (desc.size or 0) >= DIRECT_MIN and _BUDGET.take(DIRECT_BUFFERS)
        if self._large:  # its buffers bound what is in flight
            self._queue = queue.Queue(maxsize=DIRECT_BUFFERS)
        # Buffers of the direct path go round: filled by the download thread, read and hashed, filled again.
        self._ring = Ring(DIRECT_BUFFERS, DIRECT_BUFFER) if self._large else None
        self._hasher = Hasher(self._hash, self._ring.release) if self._ring is not None else None
        self._eof = False
        self._thread = threading.Thread(target=self._produce, name="blob-download", daemon=True)
        self._thread.start()

    # -- consumer side -------------------------------------------------------------------

    def read(self, size: int = -1, /) -> bytes:
        out = [p if isinstance(p, bytes) else bytes(p) for p in self._pieces(size if size >= 0 else 1 << 62)]
        return out[0] if len(out) == 1 else b"".join(out)  # a direct-path buffer goes round: copied

    def readinto(self, buf: bytearray | memoryview) -> int:
        """Chunks copied straight into `buf` (a decoder's input buffer): one copy, no join."""
        view = memoryview(buf).cast("B")
        have = 0
        # What has arrived so far: the decoder need not wait for a full buffer.
        for piece in self._pieces(len(view), arrived=True):
            view[have : have + len(piece)] = piece
            have += len(piece)
        return have

    def _pieces(self, want: int, arrived: bool = False) -> Iterator[bytes | memoryview]:
        """Up to `want` bytes as they lie in the chunks, in order, each valid until the next
        is asked for; `arrived`: no more than has been handed over already (after the first)."""
        have = 0
        while have < want:
            if self._head_pos >= len(self._head) and not self._next_chunk():
                return
            head, pos = self._head, self._head_pos
            take = min(want - have, len(head) - pos)
            self._head_pos = pos + take
            have += take
            yield head if pos == 0 and take == len(head) else memoryview(head)[pos : pos + take]
            if arrived and not self._chunks and self._queue.empty():
                return

    def _next_chunk(self) -> bool:
        self._release_head()
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
            if isinstance(item, memoryview):
                self._chunks.append(item)
                continue
            assert isinstance(item, list)
            self._chunks.extend(item)
        self._head = self._chunks.popleft()
        self._head_pos = 0
        return True

    def digest(self) -> str:
        """Of every byte received, in order: the whole blob once read to its end."""
        if self._hasher is not None:
            if self._head_pos >= len(self._head):
                self._release_head()
            self._hasher.finish()
        return f"{self.digest_algorithm}:{self._hash.hexdigest()}"

    def _release_head(self) -> None:
        """The chunk read to its end: its buffer filled again once hashed (large blobs)."""
        if self._ring is not None and isinstance(self._head, memoryview):
            self._ring.release(self._head)
        self._head = b""
        self._head_pos = 0

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)  # unblock a producer waiting on a full queue
        self._thread.join()
        if self._hasher is not None:
            self._hasher.finish()
        if self._large:
            self._large = False
            _BUDGET.give(DIRECT_BUFFERS)

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
            sock, length = self._direct_socket(response, skip) if self._large else (None, 0)
            for chunk in response.iter_raw():  # as received: a chunker would lose its buffer on a drop
                if self._stop.is_set():
                    return
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                    if not chunk:
                        continue
                self._count(chunk)
                self._batch.append(chunk)
                self._batch_bytes += len(chunk)
                if self._batch_bytes >= BATCH_BYTES and not self._flush():
                    return
                if sock is not None:  # h11 has handed over what it had buffered: the rest from the socket
                    if self._flush():
                        self._receive_direct(sock, offset + length)
                    break
        except (httpx.TimeoutException, TimeoutError):
            raise RegistryError(
                f"{self.client.host} stopped sending {self.what} for {self.client.options.timeout:g}s "
                f"({self.received} bytes received)"
            ) from None
        except DROPPED as err:
            raise _Dropped(describe(err)) from None
        except OSError as err:  # the direct path's socket: reset, closed, a TLS record cut short
            raise _Dropped(describe(err)) from None
        finally:
            response.close()
        if self.desc.size is not None and self.received < self.desc.size:
            raise _Dropped("the body ended early")

    def _count(self, chunk: bytes | memoryview) -> None:
        self.received += len(chunk)
        if self.desc.size is not None and self.received > self.desc.size:
            raise DigestError(f"{self.what} is larger than the {self.desc.size} bytes its descriptor says")
        if self._hasher is None:
            self._hash.update(chunk)
            return
        if isinstance(chunk, memoryview) and self._ring is not None:
            self._ring.hold(chunk, 2)  # the reader and the hasher
        self._hasher.add(chunk)

    def _direct_socket(self, response: httpx.Response, skip: int) -> tuple[socket.socket | None, int]:
        """The connection's socket and the body's length, where the body can be read from it
        directly: a large plain body (Content-Length, no transfer or content coding) over
        HTTP/1.x on httpcore's own socket stream (not TLS inside a TLS proxy tunnel)."""
        headers = response.headers
        length = headers.get("content-length", "")
        if (
            skip
            or response.http_version not in ("HTTP/1.1", "HTTP/1.0")
            or "transfer-encoding" in headers
            or headers.get("content-encoding", "identity").lower() != "identity"
            or not length.isdigit()
        ):
            return None, 0
        stream = response.extensions.get("network_stream")
        if stream is None or type(stream).__name__ != "SyncStream":
            return None, 0
        sock = stream.get_extra_info("socket")
        if not isinstance(sock, socket.socket) or (
            isinstance(sock, ssl.SSLSocket) is not response.url.scheme.startswith("https")
        ):
            return None, 0
        return sock, int(length)

    def _receive_direct(self, sock: socket.socket, end: int) -> None:
        """The body from `received` to `end`, by recv_into into recycled buffers; each handed
        over whole (or as far as it got, on a drop), hashed and counted like any chunk."""
        ring = self._ring
        assert ring is not None  # a large blob's
        sock.settimeout(self.client.options.timeout)
        while self.received < end and not self._stop.is_set():
            buf = ring.take(self._stop)
            if buf is None:
                return
            view = memoryview(buf)[: min(len(buf), end - self.received)]
            filled = 0
            try:
                while filled < len(view):
                    n = sock.recv_into(view[filled:])
                    if not n:
                        raise _Dropped("the body ended early")
                    filled += n
            finally:
                if filled:
                    piece = view[:filled]
                    self._count(piece)
                    self._put(piece)

    def _start(self, response: httpx.Response, offset: int) -> int:
        """Check the status; how many leading bytes to skip (a 200 to a range request)."""
        if response.status_code == 200:
            return offset
        if response.status_code == 206 and offset:
            m = _RANGE.match(response.headers.get("content-range", ""))
            if not m or int(m.group(1)) != offset:
                raise RegistryError(f"{self.client.host} answered a resumed download of {self.what} with a wrong range")
            return 0
        if response.status_code == 404 and foreign(self.desc):
            response.close()
            raise RegistryError(foreign_missing(self.desc, self.what, self.client.name.registry))
        raise self.client.fail(response, f"{self.what} ({self.desc.digest})")


def foreign(desc: Descriptor) -> bool:
    """A layer its pusher need not upload (Windows base layers): the manifest may name URLs."""
    return bool(desc.urls) or ".foreign." in desc.media_type or ".nondistributable." in desc.media_type


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:  # "http://[::1" and the like
        return "?"


def foreign_missing(desc: Descriptor, what: str, registry: str) -> str:
    """Why a foreign layer the registry lacks is not read: URLs from a manifest are never
    fetched (they may point anywhere, the registry's credentials included or not)."""
    hosts = sorted({_host(u) for u in desc.urls})
    named = f"; its manifest names {len(desc.urls)} URL(s) on {quote(', '.join(hosts))}" if desc.urls else ""
    return (
        f"{what} ({desc.digest}) is a foreign (non-distributable) layer that {registry} does not serve{named}: "
        "layerscope does not download from URLs a manifest names; --manifest-only reads the rest"
    )
