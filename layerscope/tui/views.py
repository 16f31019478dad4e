"""Extra tabs of the main screen, beside Layers and Waste.

A view needs something only some analyses carry (packages, a cache simulation); it says so
in `available`, and the main screen shows its tab only then. A new view is one class here
plus its widget module: the screen, bindings (`1`..`9` pick tabs) and help pick it up.
"""

from __future__ import annotations

from typing import Protocol

from textual.widget import Widget

from layerscope.model import Analysis


class ExtraView(Protocol):
    title: str  # the tab's label
    tab_id: str

    def available(self, analysis: Analysis) -> bool: ...

    def build(self, analysis: Analysis) -> Widget: ...


# Packages (Analysis.packages) and Cache (layerscope.cache) register here once they exist.
EXTRA_VIEWS: list[ExtraView] = []


def extra_views(analysis: Analysis) -> list[ExtraView]:
    return [v for v in EXTRA_VIEWS if v.available(analysis)]
