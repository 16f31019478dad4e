"""layerscope: where a container image's bytes go, what rebuilds cost, and budgets for CI."""

from typing import Any

from layerscope import fleet
from layerscope._version import __version__
from layerscope.api import analyze, compare, load, open_image
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, FileRecord, HistoryEntry, Image, Layer, LayerRecord, Totals, WasteEntry
from layerscope.output.notebook import register as _register_renderers
from layerscope.textsafe import visible

# The results' notebook methods (Analysis.layers_df(), _repr_html_ ...) render through
# layerscope/renderhooks.py; every import of a submodule runs this file first.
_register_renderers()

__all__ = [
    "Analysis",
    "CacheRequest",
    "CacheSimulation",
    "FileRecord",
    "HistoryEntry",
    "Image",
    "Layer",
    "LayerRecord",
    "LayerscopeError",
    "Totals",
    "WasteEntry",
    "__version__",
    "analyze",
    "compare",
    "fleet",
    "load",
    "open_image",
    "rebuild_cost",
    "simulate_cache",
    "visible",
]


def __getattr__(name: str) -> Any:
    """The cache simulation loads BuildKit's Dockerfile parser: import it only when asked."""
    if name == "CacheSimulation":
        from layerscope.buildcache.results import CacheSimulation

        return CacheSimulation
    if name == "CacheRequest":
        from layerscope.buildcache.request import CacheRequest

        return CacheRequest
    if name == "simulate_cache":
        from layerscope.buildcache.simulate import simulate_cache

        return simulate_cache
    if name == "rebuild_cost":
        from layerscope.buildcache.pricing.imagemap import rebuild_cost

        return rebuild_cost
    raise AttributeError(f"module 'layerscope' has no attribute {name!r}")
