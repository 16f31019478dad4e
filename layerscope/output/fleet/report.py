"""`report.html`: one self-contained page (inline CSS, figures as base64 SVG, no script),
drawn with matplotlib's object API (no pyplot). Image text is escaped: it is data."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from layerscope._version import __version__
from layerscope.model import COMPRESSED
from layerscope.output.fleet import rollup
from layerscope.output.fleet.text import short_digest
from layerscope.output.report.render import svg_bytes
from layerscope.output.report.style import BLUE, GREY, LABEL_SIZE, SMALL, clip, new_figure, size_axis
from layerscope.textsafe import html_text as escape
from layerscope.units import fmt_size

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables, FleetTotals

WIDTH = 11.0
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto;
       max-width: 1180px; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.meta { color: #555; font-size: 0.9em; } code { font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } td.n { text-align: right; white-space: nowrap; }
figure { margin: 1em 0; } figure img { width: 100%; height: auto; border: 1px solid #eee; }
"""


def _figure(alt: str, fig: Figure) -> str:
    data = base64.b64encode(svg_bytes(fig)).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"></figure>'


def _bars(title: str, labels: Sequence[str], values: Sequence[float], sizes: bool, colour: str = BLUE) -> Figure:
    """Horizontal bars, the largest on top."""
    fig = new_figure(WIDTH, 0.9 + 0.32 * max(len(labels), 1))
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=LABEL_SIZE + 1, loc="left")
    if not labels:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", fontsize=LABEL_SIZE, color=GREY)
        return fig
    y = list(range(len(labels)))[::-1]
    ax.barh(y, list(values), color=colour)
    ax.set_yticks(y, [clip(label, 60) for label in labels], fontsize=SMALL)
    if sizes:
        size_axis(ax.xaxis)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _bytes_figure(t: FleetTotals) -> Figure:
    fig = new_figure(WIDTH, 2.2)
    ax = fig.add_subplot()
    ratio = f"{t.dedupe_ratio:.2f}×" if t.dedupe_ratio else "n/a"
    ax.set_title(
        f"Logical bytes (Σ image sizes) against stored bytes (unique blobs): dedupe {ratio}",
        fontsize=LABEL_SIZE + 1,
        loc="left",
    )
    blobs = "compressed" if t.stored_as == COMPRESSED else "blobs as kept"
    labels = ["uncompressed, logical", "uncompressed, stored", f"{blobs}, logical", f"{blobs}, stored"]
    values = [t.logical_bytes, t.stored_bytes, t.logical_compressed_bytes, t.stored_compressed_bytes]
    ax.barh(list(range(4))[::-1], values, color=[BLUE, GREY, BLUE, GREY])
    ax.set_yticks(list(range(4))[::-1], labels, fontsize=SMALL)
    size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _blobs_said(t: FleetTotals) -> str:
    """What the blob figures are: compressed as pushed and pulled, or plain tars as a local archive keeps them."""
    return "Compressed, as pushed and pulled" if t.stored_as == COMPRESSED else f"Blobs as kept ({t.stored_as})"


def _table(frame: pd.DataFrame, columns: Sequence[tuple[str, str, Callable[[Any], str]]], caption: str = "") -> str:
    """`columns`: (column, heading, formatter); numbers right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for _c, h, _f in columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c, _h, fmt in columns:
            value = row[c]
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else fmt(value)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tr>{head}</tr>{''.join(rows)}</table>"


def _size(v: Any) -> str:
    return fmt_size(int(v))


def _text(v: Any) -> str:
    return str(v)


def page(t: FleetTables, title: str = "layerscope fleet") -> str:
    # Image text (references, package names) is never mathtext, as in `layerscope report`.
    with matplotlib.rc_context({"text.parse_math": False}):
        return _page(t, title)


def _page(t: FleetTables, title: str) -> str:
    shared = rollup.shared_layers(t)
    bases = rollup.base_images(t)
    heavy = rollup.heavy_packages(t)
    common = rollup.common_packages(t)
    savings = rollup.top_savings(t)
    failures = rollup.budget_failures(t)
    failed = t.images[t.images["error"].notna()]
    totals = t.totals
    ratio = f"{totals.dedupe_ratio:.2f}×" if totals.dedupe_ratio else "n/a"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{totals.images} images ({totals.failed_images} failed), {totals.unique_layers} unique '
        f"layers · layerscope {escape(__version__)}</p>",
        "<h2>Bytes: logical against stored</h2>",
        f"<p>Logical {escape(fmt_size(totals.logical_bytes))} uncompressed (Σ image sizes, every image counting "
        f"every layer it lists); stored {escape(fmt_size(totals.stored_bytes))} (each unique blob once): "
        f"dedupe ratio {escape(ratio)}. {_blobs_said(totals)}: logical "
        f"{escape(fmt_size(totals.logical_compressed_bytes))}, stored "
        f"{escape(fmt_size(totals.stored_compressed_bytes))}.</p>",
        _figure("Logical against stored bytes", _bytes_figure(totals)),
        "<h2>Most shared layers</h2>",
        _figure(
            "Most shared layers",
            _bars(
                "Images using each layer",
                [
                    f"{short_digest(d)} ({fmt_size(int(s or 0))})"
                    for d, s in zip(shared["digest"], shared["size"], strict=True)
                ],
                list(shared["images"]),
                False,
            ),
        ),
        _table(
            shared,
            [
                ("digest", "Layer (blob digest)", _text),
                ("images", "Images", _text),
                ("size", "Size", _size),
                ("compressed_size", "Stored", _size),  # the blob as kept: a plain tar in some sources
                ("saved_bytes", "Saved by sharing", _size),
            ],
        ),
        "<h2>Base images (by bottom layer)</h2>",
        _figure(
            "Base images",
            _bars(
                "Images built on each base layer",
                [short_digest(d) for d in bases["base_layer"]],
                list(bases["images"]),
                False,
            ),
        ),
        _table(
            bases,
            [
                ("base_layer", "Base layer", _text),
                ("images", "Images", _text),
                ("repositories", "Repositories", _text),
                ("size", "Layer size", _size),
            ],
        ),
        "<h2>Packages with the most bytes (Σ over images)</h2>",
        _figure(
            "Packages with the most bytes",
            _bars(
                "Bytes of the final filesystems, summed over images",
                [f"{e}:{n}" for e, n in zip(heavy["ecosystem"], heavy["name"], strict=True)],
                list(heavy["bytes"]),
                True,
            ),
        ),
        _table(
            heavy,
            [
                ("ecosystem", "Ecosystem", _text),
                ("name", "Package", _text),
                ("bytes", "Bytes", _size),
                ("images", "Images", _text),
            ],
        ),
        "<h2>Packages in the most images</h2>",
        _figure(
            "Packages in the most images",
            _bars(
                "Images holding each package",
                [f"{e}:{n}" for e, n in zip(common["ecosystem"], common["name"], strict=True)],
                list(common["images"]),
                False,
            ),
        ),
        _table(
            common,
            [
                ("ecosystem", "Ecosystem", _text),
                ("name", "Package", _text),
                ("images", "Images", _text),
                ("bytes", "Bytes", _size),
            ],
        ),
        "<h2>Largest estimated savings</h2>",
        "<p>Estimates (what `layerscope packages` proposes for each image: a multi-stage build without "
        "build toolchains, cleaned caches, weights outside the image, ...).</p>",
        _figure(
            "Images with the largest estimated savings",
            _bars("Estimated savings per image", list(savings["reference"]), list(savings["total"]), True),
        ),
        _table(
            savings,
            [(c, "Image" if c == "reference" else c, _text if c == "reference" else _size) for c in savings.columns],
        ),
    ]
    if not failures.empty:
        parts += [
            "<h2>Budget failures</h2>",
            _table(failures, [("reference", "Image", _text), ("rule", "Rule", _text), ("message", "Why", _text)]),
        ]
    if not failed.empty:
        parts += [
            "<h2>Images that could not be read</h2>",
            _table(failed, [("reference", "Image", _text), ("error", "Why", _text)]),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
