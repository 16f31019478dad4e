"""layerscope: where a container image's bytes go, what rebuilds cost, and budgets for CI."""

from layerscope.api import analyze, compare, load, open_image
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, FileRecord, HistoryEntry, Image, Layer, LayerRecord, Totals, WasteEntry

__all__ = [
    "Analysis",
    "FileRecord",
    "HistoryEntry",
    "Image",
    "Layer",
    "LayerRecord",
    "LayerscopeError",
    "Totals",
    "WasteEntry",
    "analyze",
    "compare",
    "load",
    "open_image",
]
__version__ = "0.1.0"
