"""BlobStream against a real registry: any mix of read sizes gives back the blob's bytes,
in order, also across a connection cut mid-body (resumed with a range request)."""

from __future__ import annotations

import random

import pytest

from layerscope.sources.registry import blobs
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
        assert rule.hits == 1
        assert got == anon_registry.blob_path(desc.digest).read_bytes()
    finally:
        handle.close()
        proxy.close()
