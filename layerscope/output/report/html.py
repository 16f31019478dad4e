"""The HTML report: one self-contained page (inline CSS, figures as base64 SVG images, no
script, no link to anything), so that it opens offline and can be mailed or attached to a
CI run as it is."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from layerscope._version import __version__
from layerscope.analysis.compare import Comparison
from layerscope.model import Analysis
from layerscope.output import html as tables
from layerscope.output.report.style import image_name
from layerscope.textsafe import html_text as escape

if TYPE_CHECKING:
    from layerscope.buildcache.pricing.imagemap import RebuildCost

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto;
       max-width: 1180px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; }
.meta { color: #555; font-size: 0.9em; } code { font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
figure { margin: 1em 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
"""


def _figure(alt: str, svg: bytes) -> str:
    data = base64.b64encode(svg).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"></figure>'


def page(
    a: Analysis,
    figures: list[tuple[str, bytes]],
    comparison: Comparison | None = None,
    rebuild: RebuildCost | None = None,
) -> str:
    """`figures`: (what it shows, SVG bytes) in report order: layers, treemap, waste, then
    the comparison and the rebuild when there are."""
    img = a.image
    figs = [_figure(alt, svg) for alt, svg in figures]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>layerscope report: {escape(image_name(a))}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(image_name(a))}</h1>",
        f'<p class="meta">{escape(img.reference)} · {escape(img.source)} · {escape(img.platform)} · image ID '
        f"<code>{escape(img.config_digest)}</code>"
        + (f" · manifest <code>{escape(img.digest)}</code>" if img.digest else "")
        + f" · layerscope {escape(__version__)}</p>",
        tables.totals_table(a),
        "<h2>Layers</h2>",
        figs[0],
        tables.layers_table(a),
        "<h2>Packages and categories</h2>",
        figs[1],
        tables.categories_table(a),
        tables.packages_table(a),
        "<h2>Waste</h2>",
        figs[2],
        tables.waste_table(a),
    ]
    if comparison is not None:
        parts += [
            f"<h2>Compared with {escape(image_name(comparison.b))}</h2>",
            figs[3],
            tables.comparison_html(comparison),
        ]
    if rebuild is not None:
        parts += [
            f"<h2>What the change rebuilds ({escape(rebuild.simulation.change)})</h2>",
            figs[3 + (comparison is not None)],
            tables.rebuild_table(rebuild),
        ]
    notes = [*img.notes, *a.notes]
    if rebuild is not None:
        notes += [*rebuild.simulation.notes, *([rebuild.note] if rebuild.note else [])]
    if notes:
        parts += ["<h2>Notes</h2><ul>", *(f"<li>{escape(n)}</li>" for n in notes), "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
