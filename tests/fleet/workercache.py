"""What the workers' own layer cache holds, asked of the workers (Client.run), not recomputed
in the test process: an entry's directory comes from the code a worker imported (the cache
schema, the capture rules' stamp), which is not the test process's when the checkout changed
after pytest started."""

from __future__ import annotations

from layerscope.layers.layercache import LayerCache


def cached_blobs(digests: list[str]) -> list[str]:
    """Run on a worker: which of these blob digests its layer cache holds, in order."""
    cache = LayerCache()  # the worker's own cache dir (its LAYERSCOPE_CACHE_DIR)
    return [d for d in digests if cache.has_blob(d)]


def held_by_workers(address: str, digests: list[str]) -> dict[str, list[str]]:
    """{worker address: the digests its cache holds} for every worker alive in the cluster."""
    from distributed import Client

    with Client(address, timeout="20s", set_as_default=False) as client:
        return dict(client.run(cached_blobs, digests))
