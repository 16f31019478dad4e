"""`layerscope report`: one file per run, the format from its suffix. PNG and SVG hold every
panel in one tall figure, PDF one panel per page, HTML the panels as embedded SVG images
plus tables (report/html.py). Output is reproducible: no dates in SVG or PDF metadata.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure, FigureBase

from layerscope.analysis.compare import Comparison
from layerscope.errors import UsageError
from layerscope.model import Analysis
from layerscope.output.report import style
from layerscope.output.report.comparison import comparison_height, draw_comparison
from layerscope.output.report.layers import draw_layers, layers_height
from layerscope.output.report.rebuild import draw_rebuild, rebuild_height
from layerscope.output.report.treemap import HEIGHT as TREEMAP_HEIGHT
from layerscope.output.report.treemap import draw_treemap
from layerscope.output.report.waste import draw_waste, waste_height

if TYPE_CHECKING:
    from layerscope.buildcache.pricing.imagemap import RebuildCost

FORMATS = ("png", "svg", "pdf", "html")
WIDTH = 12.0
DPI = 120


@dataclass(frozen=True, slots=True)
class Panel:
    name: str  # what the panel shows, as the HTML report's alt text and heading
    height: float  # inches
    draw: Callable[[FigureBase], None]


def panels(a: Analysis, comparison: Comparison | None = None, rebuild: RebuildCost | None = None) -> list[Panel]:
    out = [
        Panel("What each layer adds, by category", layers_height(a), lambda f: draw_layers(f, a)),
        Panel("Where the bytes of the final filesystem are", TREEMAP_HEIGHT, lambda f: draw_treemap(f, a)),
        Panel("Bytes hidden by later layers", waste_height(a), lambda f: draw_waste(f, a)),
    ]
    if comparison is not None:
        c = comparison
        out.append(Panel("Where the two images differ", comparison_height(c), lambda f: draw_comparison(f, c)))
    if rebuild is not None:
        r = rebuild
        out.append(Panel("What the change rebuilds, step by step", rebuild_height(r), lambda f: draw_rebuild(f, a, r)))
    return out


def panel_figure(p: Panel) -> Figure:
    fig = style.new_figure(WIDTH, p.height)
    p.draw(fig)
    return fig


def report_figure(a: Analysis, comparison: Comparison | None = None, rebuild: RebuildCost | None = None) -> Figure:
    """Every panel stacked in one figure (what the PNG and SVG reports hold)."""
    ps = panels(a, comparison, rebuild)
    fig = style.new_figure(WIDTH, sum(p.height for p in ps) + 0.3 * len(ps))
    subs = fig.subfigures(len(ps), 1, squeeze=False, height_ratios=[p.height for p in ps], hspace=0.04)
    for i, p in enumerate(ps):
        p.draw(subs[i][0])
    return fig


_HASH_ID = re.compile(rb'id="([a-z][0-9a-f]{10})"')


def svg_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "layerscope", "svg.fonttype": "path"}):  # glyphs as paths: no fonts
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    data = buf.getvalue()
    # Some ids hash Python object ids (clip paths): number them in order so that the same
    # analysis always gives the same bytes.
    for n, old in enumerate(dict.fromkeys(_HASH_ID.findall(data))):
        data = data.replace(old, old[:1] + b"id%08d" % n)
    return data


def format_of(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    suffix = "html" if suffix == "htm" else suffix
    if suffix not in FORMATS:
        raise UsageError(f"report: cannot tell the format of {path!r}: name it .png, .svg, .pdf or .html")
    return suffix


def render_report(
    a: Analysis, fmt: str, comparison: Comparison | None = None, rebuild: RebuildCost | None = None
) -> bytes:
    """The report's bytes in `fmt` (png, svg, pdf, html); `rebuild` adds what a change rebuilds."""
    # Image text is never mathtext: a history line with two `$` would be typeset (or fail to parse).
    with matplotlib.rc_context({"text.parse_math": False}):
        return _render(a, fmt, comparison, rebuild)


def _render(a: Analysis, fmt: str, comparison: Comparison | None, rebuild: RebuildCost | None) -> bytes:
    ps = panels(a, comparison, rebuild)
    if fmt == "html":
        from layerscope.output.report.html import page

        return page(a, [(p.name, svg_bytes(panel_figure(p))) for p in ps], comparison, rebuild).encode()
    buf = io.BytesIO()
    if fmt == "pdf":
        with PdfPages(buf, metadata={"CreationDate": None, "Creator": "layerscope"}) as pdf:
            for p in ps:
                pdf.savefig(panel_figure(p))
        return buf.getvalue()
    fig = report_figure(a, comparison, rebuild)
    if fmt == "svg":
        return svg_bytes(fig)
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def write_report(
    a: Analysis, path: str, comparison: Comparison | None = None, rebuild: RebuildCost | None = None
) -> str:
    """Write the report to `path` in the format its suffix names; returns that format."""
    fmt = format_of(path)
    data = render_report(a, fmt, comparison, rebuild)
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as err:
        raise UsageError(f"report: cannot write {path}: {err.strerror}") from None
    return fmt
