"""`layerscope explore`: the Textual terminal UI (app factory, screens, widgets, one .tcss)."""

from layerscope.tui.app import ExploreApp, make_app

__all__ = ["ExploreApp", "make_app"]
