"""BlobStream against a real registry: any mix of read sizes gives back the blob's bytes,
in order, also across a connection cut mid-body (resumed with a range request); the digest
it computes is the blob's, and the layer reader takes it. Each on both download paths:
through h11 (a small blob), and from the socket into recycled buffers, hashed by a thread
of its own (a large blob; here made "large" by lowering the bar, with tiny buffers so that
each goes round many times)."""

from __future__ import annotations

import hashlib
import random
import time

import pytest

from layerscope.errors import RegistryError
from layerscope.layers.streams import HashingReader
from layerscope.sources.registry import blobs, client
from layerscope.sources.registry.blobs import BlobStream
from layerscope.sources.registry.buffers import Budget
from layerscope.sources.registry.handle import RegistryHandle
from tests.sources.registry.conftest import DirectSpy, Pushed
from tests.sources.registry.servers import FaultProxy, Registry, Rule

pytestmark = pytest.mark.registry


@pytest.fixture(params=["h11", "direct"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "direct":
        monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
        monkeypatch.setattr(blobs, "DIRECT_BUFFER", 50_000)  # each of the 12 goes round ~5 times for 3 MiB
    else:
        monkeypatch.setattr(blobs, "DIRECT_MIN", 1 << 62)
    return str(request.param)


def _took(path: str, spy: DirectSpy, reads: int = 1) -> None:
    assert spy.calls == (reads if path == "direct" else 0)


def _read_all(stream: BlobStream, sizes: list[int]) -> bytes:
    out = []
    for size in sizes:
        out.append(stream.read(size))
    rnd = random.Random(1)
    while piece := stream.read(rnd.choice([1, 511, 4096, 70_000, 300_000])):
        out.append(piece)
    return b"".join(out)


@pytest.mark.parametrize("batch", [1, 1000, blobs.BATCH_BYTES])
def test_mixed_read_sizes_give_the_blob(
    anon_registry: Registry, large_image: Pushed, monkeypatch: pytest.MonkeyPatch, batch: int, path: str, spy: DirectSpy
) -> None:
    monkeypatch.setattr(blobs, "BATCH_BYTES", batch)  # one chunk a batch, several, or all of a small blob
    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest
        want = anon_registry.blob_path(desc.digest).read_bytes()
        rnd = random.Random(batch)
        sizes = [4, 0, 512, *(rnd.choice([1, 100, 512, 4096, 65_536, 200_000]) for _ in range(30))]
        with BlobStream(handle.client, desc, "layer 0") as stream:
            got = _read_all(stream, sizes)
            assert stream.read(10) == b"" and stream.read() == b""
        assert got == want and len(want) == desc.size
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert stream.read() == want  # read(-1): everything
            assert stream.digest() == desc.digest
            # Each buffer went back once both the reader and the hasher were done with it.
            assert stream._ring is None or stream._ring.all_back
        _took(path, spy, reads=2)
        assert blobs._BUDGET.left == blobs.DIRECT_STREAMS * blobs.DIRECT_BUFFERS  # every buffer given back
    finally:
        handle.close()


@pytest.mark.parametrize("after", [100, 200_000])  # inside what h11 buffers with the headers; past it
def test_a_cut_mid_body_still_gives_every_byte_once(
    anon_registry: Registry, large_image: Pushed, path: str, spy: DirectSpy, after: int
) -> None:
    proxy = FaultProxy(f"http://{anon_registry.host}")
    handle = RegistryHandle(f"{proxy.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest and (desc.size or 0) > 2 * after
        rule = proxy.add(Rule(desc.digest, "cut", times=1, after=after, method="GET"))
        with BlobStream(handle.client, desc, "layer 0") as stream:
            got = _read_all(stream, [7, 4096, 100_000])
            assert stream.digest() == desc.digest  # the resumed bytes are hashed once, in order
        assert rule.hits == 1
        assert got == anon_registry.blob_path(desc.digest).read_bytes()
        assert path == "h11" or spy.calls >= 1
    finally:
        handle.close()
        proxy.close()


def test_the_stream_hashes_what_it_hands_out_and_readinto_mixes_with_read(
    anon_registry: Registry, large_image: Pushed, path: str, spy: DirectSpy
) -> None:
    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest
        want = anon_registry.blob_path(desc.digest).read_bytes()
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert stream.digest_algorithm == "sha256"
            got = bytearray(stream.read(3))
            buf = bytearray(10_007)
            while n := stream.readinto(buf):
                got += buf[:n]
                got += stream.read(513)
            assert bytes(got) == want
            assert stream.digest() == desc.digest == "sha256:" + hashlib.sha256(want).hexdigest()
        with BlobStream(handle.client, desc, "layer 0") as stream:
            # The layer reader's wrapper does not hash again: it takes the stream's digest.
            reader = HashingReader(stream, True, "sha256", background=True)
            assert reader._ahead is None and reader._hash is None
            while reader.read(1 << 16):
                pass
            assert reader.digest == desc.digest and reader.count == len(want)
        _took(path, spy, reads=2)
    finally:
        handle.close()


def test_the_hasher_works_ahead_of_the_reader(large_image: Pushed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Direct-path chunks are hashed as they arrive: with the reader idle, every buffer the
    download filled is hashed and held for the reader alone."""
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    monkeypatch.setattr(blobs, "DIRECT_BUFFER", 50_000)
    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert len(stream.read(1)) == 1
            ring = stream._ring
            assert ring is not None
            deadline = time.monotonic() + 30
            while not (ring.made == blobs.DIRECT_BUFFERS and set(ring.holders()) == {1}):
                assert time.monotonic() < deadline, f"holders {ring.holders()}, {ring.made} buffers"
                time.sleep(0.01)
            assert len(ring.holders()) == blobs.DIRECT_BUFFERS  # all filled, none read: the hash is ahead
            rest = stream.read()
            assert stream.digest() == desc.digest and len(rest) == (desc.size or 0) - 1
    finally:
        handle.close()


def test_a_registry_client_reads_sockets_in_large_pieces(large_image: Pushed) -> None:
    from httpcore._sync.http11 import HTTP11Connection

    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        assert HTTP11Connection.READ_NUM_BYTES >= client.RECV_BYTES
    finally:
        handle.close()


def test_large_downloads_beyond_the_budget_take_h11(
    anon_registry: Registry, large_image: Pushed, monkeypatch: pytest.MonkeyPatch, spy: DirectSpy
) -> None:
    """Buffers are for DIRECT_STREAMS downloads at a time: the next one gets none and reads through h11."""
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    monkeypatch.setattr(blobs, "_BUDGET", Budget(blobs.DIRECT_BUFFERS))  # room for one
    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        want = anon_registry.blob_path(desc.digest or "").read_bytes()
        with BlobStream(handle.client, desc, "layer 0") as first, BlobStream(handle.client, desc, "layer 1") as second:
            assert second.read() == want and second.digest() == desc.digest
            assert first.read() == want and first.digest() == desc.digest
        assert spy.by == ["layer 0"]  # the first took its buffers, the second h11
        assert blobs._BUDGET.left == blobs.DIRECT_BUFFERS
    finally:
        handle.close()


def test_a_large_download_closed_half_read_leaves_no_thread_and_gives_its_buffers_back(
    large_image: Pushed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    monkeypatch.setattr(blobs, "DIRECT_BUFFER", 50_000)
    handle = RegistryHandle(f"{large_image.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        before = blobs._BUDGET.left
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert len(stream.read(1_000_000)) == 1_000_000
            threads = {stream._thread, stream._hasher.thread}  # type: ignore[union-attr]
        assert not any(t.is_alive() for t in threads)
        assert blobs._BUDGET.left == before
    finally:
        handle.close()


@pytest.mark.parametrize("action", ["stall", "cut"])
def test_faults_on_the_direct_path_are_one_error(
    anon_registry: Registry, large_image: Pushed, monkeypatch: pytest.MonkeyPatch, spy: DirectSpy, action: str
) -> None:
    """A body that stalls past the timeout, or is cut on every try: the same errors as through h11."""
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_TIMEOUT", "1")
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_RETRIES", "1")
    monkeypatch.setattr(client, "backoff", lambda attempt: 0.0)
    monkeypatch.setattr(blobs, "backoff", lambda attempt: 0.0)
    proxy = FaultProxy(f"http://{anon_registry.host}")
    handle = RegistryHandle(f"{proxy.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest
        proxy.add(Rule(desc.digest, action, times=None, after=300_000, method="GET"))
        with BlobStream(handle.client, desc, "layer 0") as stream, pytest.raises(RegistryError) as err:
            while stream.read(1 << 16):
                pass
        if action == "stall":
            assert str(err.value).startswith(f"{proxy.host} stopped sending layer 0 for 1s")
        else:
            assert "dropped 2 times while downloading layer 0 (600000 of" in str(err.value)
        assert spy.calls >= 1
    finally:
        handle.close()
        proxy.close()


def test_a_large_chunked_body_is_read_through_h11(
    anon_registry: Registry, large_image: Pushed, monkeypatch: pytest.MonkeyPatch, spy: DirectSpy
) -> None:
    """No Content-Length (Transfer-Encoding: chunked): the socket holds chunk framing, so h11 decodes it."""
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    proxy = FaultProxy(f"http://{anon_registry.host}")
    handle = RegistryHandle(f"{proxy.host}/{large_image.repo}", large_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest
        rule = proxy.add(Rule(desc.digest, "chunked", times=None, method="GET"))
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert stream.read() == anon_registry.blob_path(desc.digest).read_bytes()
            assert stream.digest() == desc.digest
        assert rule.hits == 1 and spy.calls == 0
    finally:
        handle.close()
        proxy.close()
