"""A layer read once from a registry is served from the per-layer cache on the next read:
its blob is not downloaded again (the cache knows the blob digest -> diff_id)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope import api
from tests.sources.registry.conftest import Pushed
from tests.sources.registry.servers import FaultProxy, Registry

pytestmark = pytest.mark.registry


def test_second_read_downloads_no_layer_blob(
    plain_image: Pushed, anon_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    proxy = FaultProxy(f"http://{anon_registry.host}")
    try:
        ref = f"docker://{proxy.host}/sample/plain:1"
        first = api.open_image(ref)
        layer_digests = {layer.digest for layer in first.layers}
        assert len(layer_digests) >= 2

        def layer_gets() -> list[str]:
            return [r.path for r in proxy.requests if r.method == "GET" and r.path.rsplit("/", 1)[-1] in layer_digests]

        assert sorted(p.rsplit("/", 1)[-1] for p in layer_gets()) == sorted(layer_digests)
        proxy.reset()
        second = api.open_image(ref)
        assert layer_gets() == []
        assert any("/manifests/" in r.path for r in proxy.requests)  # it did ask the registry
        assert [x.record for x in second.layers] == [x.record for x in first.layers]
        # --no-cache downloads them again
        proxy.reset()
        api.open_image(ref, use_cache=False)
        assert len(layer_gets()) == len(layer_digests)
    finally:
        proxy.close()
