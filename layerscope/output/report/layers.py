"""Per-layer bars: what each layer adds, by category, and how much of it a later layer hid;
beside it, the layer's blob as stored (compressed, or the plain tar where the source keeps
layers uncompressed)."""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure, FigureBase
from matplotlib.patches import Patch

from layerscope.analysis.breakdown import per_layer
from layerscope.analysis.pkgview import CATEGORIES, UNAVAILABLE, layer_categories
from layerscope.model import Analysis
from layerscope.output.report import style
from layerscope.units import fmt_size

MAX_LAYERS = 40  # past this, the largest layers are shown (in order) and the title says so
MAX_COLOURS = 7  # categories with their own colour; smaller ones are merged into "other"


@dataclass(frozen=True, slots=True)
class LayerBar:
    index: int
    label: str
    segments: tuple[tuple[str, int], ...]  # (category or "hidden", bytes), bottom to top
    size: int
    stored: int | None


def bars(a: Analysis) -> tuple[list[LayerBar], list[str], dict[str, list[str]], str | None]:
    """The bars, the categories drawn (in legend order), what "other" absorbed, and a note
    when the category split is unavailable."""
    split = per_layer(a)
    cats = layer_categories(a) if split is not None else None
    totals: dict[str, int] = {}
    for per in (cats or {}).values():
        for name, n in per.items():
            totals[name] = totals.get(name, 0) + n
    ranked = [c for c in sorted(totals, key=lambda c: -totals[c]) if c != "other" and totals[c] > 0]
    shown = ranked[:MAX_COLOURS]
    merged = {"other": [c for c in ranked[MAX_COLOURS:]]}
    order = [c for c in CATEGORIES if c in shown] + ["other"]
    note = None
    out = []
    for layer in a.image.layers:
        size = layer.size or 0
        segs: list[tuple[str, int]] = []
        if split is None:
            segs.append(("size", size))
            note = "layer contents were not read: no split by category or waste"
        else:
            lb = split[layer.index]
            if cats is None:
                segs.append(("visible", lb.visible))
                note = UNAVAILABLE + ": bars split into visible and hidden bytes only"
            else:
                per = cats.get(layer.index, {})
                grouped = {c: per.get(c, 0) for c in order}
                grouped["other"] += sum(n for c, n in per.items() if c not in shown and c != "other")
                segs += [(c, grouped[c]) for c in order if grouped[c]]
            segs.append(("hidden", lb.hidden))
        out.append(LayerBar(layer.index, style.layer_label(a, layer.index), tuple(segs), size, layer.compressed_size))
    return out, order if cats is not None else [], merged, note


def draw_layers(fig: FigureBase, a: Analysis) -> None:
    rows, order, merged, note = bars(a)
    n_all = len(rows)
    if n_all > MAX_LAYERS:
        keep = sorted(sorted(rows, key=lambda r: -r.size)[:MAX_LAYERS], key=lambda r: r.index)
        rows = keep
    ax = fig.add_subplot()
    total = sum(r.size for r in rows)
    stored = sum(r.stored or 0 for r in rows)
    which = f"the {len(rows)} largest of {n_all} layers" if len(rows) < n_all else f"{n_all} layers"
    fig.suptitle(
        f"{style.image_name(a)}: what each layer adds ({fmt_size(a.totals.size)} in {which}), bottom layer first",
        fontsize=style.TITLE_SIZE,
        color=style.TEXT,
    )
    ax.set_title(
        "wide bars: uncompressed file bytes by category (hatched: hidden later by another layer); "
        "thin dark bars: the layer blob as stored",
        fontsize=style.SMALL,
        color=style.TEXT,
    )
    if not rows:
        style.empty_note(ax, "This image has no layers.")
        return
    ys = list(range(len(rows)))
    for y, r in zip(ys, rows, strict=True):
        left = 0
        for name, n in r.segments:
            if not n:
                continue
            if name == "hidden":
                ax.barh(y + 0.14, n, left=left, height=0.56, facecolor="white", edgecolor=style.GREY, hatch=style.HATCH)
            else:
                face = style.colour(name) if name in style.CATEGORY_COLOURS else style.SKY
                ax.barh(y + 0.14, n, left=left, height=0.56, color=face, linewidth=0.6)
            left += n
        if r.stored is not None:
            ax.barh(y - 0.3, r.stored, height=0.18, color="#444444")
        label = fmt_size(r.size) + ("" if r.stored is None else f"  ·  stored {fmt_size(r.stored)}")
        ax.text(max(r.size, r.stored or 0), y, "  " + label, va="center", fontsize=style.SMALL, color=style.TEXT)
    widest = max(max(r.size, r.stored or 0) for r in rows) or 1
    ax.set_xlim(0, widest * 1.45)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(ys, [r.label for r in rows], fontsize=style.SMALL)
    style.size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=style.SMALL)
    ax.set_xlabel(f"bytes (all shown layers: {fmt_size(total)}, stored {fmt_size(stored)})", fontsize=style.SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(color=style.colour(c), label=_legend_name(c, merged)) for c in order]
    if not order:
        handles.append(
            Patch(color=style.SKY, label="in the final filesystem" if note and "visible" in note else "size")
        )
    handles += [style.hidden_patch("hidden by a later layer"), Patch(color="#444444", label="stored blob")]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 4),
        fontsize=style.SMALL,
        frameon=False,
    )
    if note:
        ax.text(
            0.99, 0.01, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=style.SMALL, color=style.GREY
        )


def _legend_name(category: str, merged: dict[str, list[str]]) -> str:
    extra = merged.get(category) or []
    return category if not extra else f"{category} (+ {', '.join(extra)})"


def layers_height(a: Analysis) -> float:
    return 2.6 + 0.34 * min(len(a.image.layers), MAX_LAYERS)


def layers_figure(a: Analysis) -> Figure:
    """Per-layer bars by category, uncompressed and as stored."""
    fig = style.new_figure(11, layers_height(a))
    draw_layers(fig, a)
    return fig
