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


class PackagesView:
    title = "Packages"
    tab_id = "packages-tab"

    def available(self, analysis: Analysis) -> bool:
        return analysis.packages is not None and bool(analysis.packages.packages)

    def build(self, analysis: Analysis) -> Widget:
        from layerscope.tui.widgets.packages import PackagesPane

        return PackagesPane(analysis, id="packages-pane")


# The Cache view (a CacheSimulation for --dockerfile) registers here once layerscope.cache exists.
EXTRA_VIEWS: list[ExtraView] = [PackagesView()]


def extra_views(analysis: Analysis) -> list[ExtraView]:
    return [v for v in EXTRA_VIEWS if v.available(analysis)]
