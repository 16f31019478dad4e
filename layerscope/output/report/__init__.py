"""Figures and reports: matplotlib Figures built without pyplot, and `layerscope report`
files (png, svg, pdf, self-contained html).

The names below load their module (and matplotlib) when first used, so that the HTML
summaries Jupyter shows (output/html.py) never import matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerscope.output.report.comparison import comparison_figure
    from layerscope.output.report.layers import layers_figure
    from layerscope.output.report.rebuild import rebuild_figure
    from layerscope.output.report.render import render_report, report_figure, write_report
    from layerscope.output.report.treemap import treemap_figure
    from layerscope.output.report.waste import waste_figure

_WHERE = {
    "layers_figure": "layers",
    "treemap_figure": "treemap",
    "waste_figure": "waste",
    "comparison_figure": "comparison",
    "rebuild_figure": "rebuild",
    "report_figure": "render",
    "render_report": "render",
    "write_report": "render",
}
__all__ = [
    "comparison_figure",
    "layers_figure",
    "rebuild_figure",
    "render_report",
    "report_figure",
    "treemap_figure",
    "waste_figure",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"layerscope.output.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
