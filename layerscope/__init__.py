"""layerscope: where a container image's bytes go, what rebuilds cost, and budgets for CI."""

from layerscope.api import analyze, load, open_image
from layerscope.cache.model import CacheSimulation
from layerscope.cache.simulate import CacheRequest, simulate_cache
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, FileRecord, HistoryEntry, Image, Layer, LayerRecord, Totals, WasteEntry

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
    "analyze",
    "load",
    "open_image",
    "simulate_cache",
]
__version__ = "0.1.0"
