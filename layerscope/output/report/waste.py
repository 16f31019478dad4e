"""Waste by layer: the bytes each layer added that a later layer overwrote or deleted (they
still ship in that layer's blob), with the largest responsible paths written beside them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from matplotlib.figure import Figure, FigureBase
from matplotlib.patches import Patch

from layerscope.analysis.breakdown import all_waste
from layerscope.model import Analysis
from layerscope.output.report import style
from layerscope.units import fmt_size

MAX_ROWS = 15
PATHS = 2  # paths named per row
PATH_WIDTH = 40
REASONS = {"overwritten": style.ORANGE, "deleted": style.VERMILLION}


@dataclass(frozen=True, slots=True)
class WasteRow:
    layer: int
    by_reason: tuple[tuple[str, int], ...]
    hidden_by: tuple[int, ...]
    paths: tuple[tuple[str, int], ...]  # largest first
    count: int  # hidden paths in all

    @property
    def bytes(self) -> int:
        return sum(n for _, n in self.by_reason)


def rows(a: Analysis) -> list[WasteRow]:
    """One row per layer that holds hidden bytes, most waste first."""
    reasons: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    killers: dict[int, set[int]] = defaultdict(set)
    paths: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for w in all_waste(a):  # largest first, so each layer's path list stays sorted
        reasons[w.layer][w.reason] += w.bytes
        killers[w.layer].add(w.hidden_by)
        paths[w.layer].append((w.path, w.bytes))
    out = [
        WasteRow(
            layer,
            tuple((r, reasons[layer][r]) for r in REASONS if reasons[layer].get(r)),
            tuple(sorted(killers[layer])),
            tuple(paths[layer][:PATHS]),
            len(paths[layer]),
        )
        for layer in reasons
    ]
    return sorted(out, key=lambda r: (-r.bytes, r.layer))


def _describe(r: WasteRow) -> tuple[str, str]:
    by = ", ".join(f"#{k}" for k in r.hidden_by)
    named = ", ".join(style.clip("/" + p, PATH_WIDTH) for p, _ in r.paths)
    more = f" +{r.count - len(r.paths)} more" if r.count > len(r.paths) else ""
    return f"{fmt_size(r.bytes)} hidden by {'layer' if len(r.hidden_by) == 1 else 'layers'} {by}", named + more


def draw_waste(fig: FigureBase, a: Analysis) -> None:
    data = rows(a)
    total = a.totals.wasted_bytes
    name = style.image_name(a)
    if total is None or not data:
        ax = fig.add_subplot()
        if total is None:
            fig.suptitle(f"{name}: hidden bytes unknown", fontsize=style.TITLE_SIZE, color=style.TEXT)
            style.empty_note(ax, "Layer contents were not read (--manifest-only): waste needs them.")
        else:
            fig.suptitle(f"{name}: no hidden bytes", fontsize=style.TITLE_SIZE, color=style.TEXT)
            style.empty_note(ax, "Every byte a layer adds is still in the final filesystem.")
        return
    fig.suptitle(
        f"{name}: {fmt_size(total)} shipped but hidden by later layers "
        f"({style.pct(total, a.totals.size)} of the image)",
        fontsize=style.TITLE_SIZE,
        color=style.TEXT,
    )
    shown = data[:MAX_ROWS]
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.25])
    ax = fig.add_subplot(grid[0, 0])
    notes = fig.add_subplot(grid[0, 1], sharey=ax)
    ax.set_title(
        "bytes each layer added that a later layer overwrote or deleted"
        + (f" (the {MAX_ROWS} most of {len(data)} layers)" if len(data) > MAX_ROWS else ""),
        fontsize=style.SMALL,
        color=style.TEXT,
    )
    notes.set_title("the largest hidden paths", fontsize=style.SMALL, color=style.TEXT, loc="left")
    ys = list(range(len(shown)))[::-1]  # most waste on top
    for y, r in zip(ys, shown, strict=True):
        left = 0
        for reason, n in r.by_reason:
            ax.barh(y, n, left=left, height=0.6, color=REASONS[reason])
            left += n
        head, paths = _describe(r)
        notes.text(0, y + 0.04, head, va="bottom", fontsize=style.SMALL, color=style.TEXT)
        notes.text(0, y - 0.04, paths, va="top", fontsize=7, color=style.TEXT)
    ax.set_xlim(0, max(r.bytes for r in shown) * 1.05)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_yticks(ys, [style.layer_label(a, r.layer, 40) for r in shown], fontsize=style.SMALL)
    style.size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=style.SMALL)
    ax.set_xlabel("hidden bytes, by the layer that added them", fontsize=style.SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    notes.set_xlim(0, 1)
    notes.set_axis_off()
    fig.legend(
        handles=[Patch(color=c, label=f"{r} by a later layer") for r, c in REASONS.items()],
        loc="outside lower center",
        ncols=2,
        fontsize=style.SMALL,
        frameon=False,
    )


def waste_height(a: Analysis) -> float:
    return 2.0 + 0.42 * max(1, min(len(rows(a)), MAX_ROWS))


def waste_figure(a: Analysis) -> Figure:
    """Hidden bytes per layer, with the paths responsible."""
    fig = style.new_figure(11, waste_height(a))
    draw_waste(fig, a)
    return fig
