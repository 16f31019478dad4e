"""BlobStream against a real registry: any mix of read sizes gives back the blob's bytes,
in order, also across a connection cut mid-body (resumed with a range request); the digest
it computes as bytes arrive is the blob's, and the layer reader takes it."""

from __future__ import annotations

import hashlib
import random

import pytest

from layerscope.layers.streams import HashingReader
from layerscope.sources.registry import blobs, client
from layerscope.sources.registry.blobs import BlobStream
from layerscope.sources.registry.handle import RegistryHandle
from tests.sources.registry.conftest import Pushed
from tests.sources.registry.servers import FaultProxy, Registry, Rule

pytestmark = pytest.mark.registry


def _read_all(stream: BlobStream, sizes: list[int]) -> bytes:
    out = []
    for size in sizes:
        out.append(stream.read(size))
    while piece := stream.read(random.Random(1).choice([1, 511, 4096, 70_000])):
        out.append(piece)
    return b"".join(out)


@pytest.mark.parametrize("batch", [1, 1000, blobs.BATCH_BYTES])
def test_mixed_read_sizes_give_the_blob(
    anon_registry: Registry, plain_image: Pushed, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(blobs, "BATCH_BYTES", batch)  # one chunk a batch, several, or all of a small blob
    handle = RegistryHandle(f"{plain_image.host}/{plain_image.repo}", plain_image.ref)
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
    finally:
        handle.close()


def test_a_cut_mid_body_still_gives_every_byte_once(anon_registry: Registry, plain_image: Pushed) -> None:
    proxy = FaultProxy(f"http://{anon_registry.host}")
    handle = RegistryHandle(f"{proxy.host}/{plain_image.repo}", plain_image.ref)
    try:
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        assert desc.digest and (desc.size or 0) > 200
        rule = proxy.add(Rule(desc.digest, "cut", times=1, after=100, method="GET"))
        with BlobStream(handle.client, desc, "layer 0") as stream:
            got = _read_all(stream, [7, 4096, 100_000])
            assert stream.digest() == desc.digest  # the resumed bytes are hashed once, in order
        assert rule.hits == 1
        assert got == anon_registry.blob_path(desc.digest).read_bytes()
    finally:
        handle.close()
        proxy.close()


def test_the_stream_hashes_what_it_hands_out_and_readinto_mixes_with_read(
    anon_registry: Registry, plain_image: Pushed
) -> None:
    handle = RegistryHandle(f"{plain_image.host}/{plain_image.repo}", plain_image.ref)
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
    finally:
        handle.close()


def test_a_registry_client_reads_sockets_in_large_pieces(plain_image: Pushed) -> None:
    from httpcore._sync.http11 import HTTP11Connection

    handle = RegistryHandle(f"{plain_image.host}/{plain_image.repo}", plain_image.ref)
    try:
        assert HTTP11Connection.READ_NUM_BYTES >= client.RECV_BYTES
    finally:
        handle.close()
