"""Extra tabs of the main screen, beside Layers and Waste.

A view needs something only some analyses carry (packages, a cache simulation); it says so
in `available`, and the main screen shows its tab only then. A new view is one class here
plus its widget module: the screen, bindings (`1`..`9` pick tabs) and help pick it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from textual.widget import Widget

from layerscope.model import Analysis

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec


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


class CacheView:
    """Cache simulations for the Dockerfile given with `--dockerfile` (`request` holds no change)."""

    title = "Cache"
    tab_id = "cache-tab"

    def __init__(self, request: BuildSpec) -> None:
        self.request = request

    def available(self, analysis: Analysis) -> bool:
        return True

    def build(self, analysis: Analysis) -> Widget:
        from layerscope.tui.widgets.cache import CachePane

        return CachePane(analysis, self.request, id="cache-pane")


EXTRA_VIEWS: list[ExtraView] = [PackagesView()]


def extra_views(analysis: Analysis, cache: BuildSpec | None = None) -> list[ExtraView]:
    """The views this analysis supports; the Cache view when a Dockerfile was given."""
    views = [*EXTRA_VIEWS, *([CacheView(cache)] if cache is not None else [])]
    return [v for v in views if v.available(analysis)]
