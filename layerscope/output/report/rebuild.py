"""Rebuild cost per step: for a cache simulation priced with the image of the last build, one row per
Dockerfile step that made a layer of the image or that misses, its layer's bytes (uncompressed, and as stored),
the steps the change rebuilds in vermillion with the reason beside them, the reused ones in grey."""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure, FigureBase
from matplotlib.patches import Patch

from layerscope.buildcache.pricing.imagemap import RebuildCost, rebuild_cost
from layerscope.buildcache.results import CacheSimulation
from layerscope.model import Analysis
from layerscope.output.report import style
from layerscope.units import fmt_size

MAX_ROWS = 30  # past this, the missed steps and the largest reused ones are kept (in order), and the title says so
REBUILT, REUSED, STORED = style.VERMILLION, style.LIGHT, "#444444"
REASON_WIDTH = 60


@dataclass(frozen=True, slots=True)
class StepBar:
    stage: str
    line: int
    label: str
    rebuilt: bool
    size: int  # bytes of the layers the step made in the image (0: none, e.g. a stage the image does not hold)
    stored: int | None
    note: str  # why it rebuilds, or that it has no layer here


def _short(text: str) -> str:
    """A step on one line, without --mount specs (the reader knows the step by its command)."""
    return " ".join(w for w in text.split() if not w.startswith("--mount="))


def bars(cost: RebuildCost) -> list[StepBar]:
    """Every step that made a layer of the image or misses, in Dockerfile order."""
    out = []
    for c in cost.steps:
        s = c.step
        made = c.layers is not None and bool(c.layers.layers)
        if not made and not c.rebuilt:
            continue
        if s.instruction == "FROM" and not c.rebuilt:
            continue
        size = (c.layers.size or 0) if c.layers is not None else 0
        stored = c.layers.compressed_size if c.layers is not None and made else None
        note = style.clip(s.reason or "", REASON_WIDTH) if c.rebuilt else ""
        if c.rebuilt and not made:
            where = "no layer in this image" if s.stage in cost.final_stages else f"stage {s.stage}, not in the image"
            note = f"{note} ({where})" if note else where
        layers = ",".join(f"#{n}" for n in c.layers.layers) if c.layers is not None and made else ""
        label = style.clip(f"line {s.line}{' ' + layers if layers else ''}: {_short(s.text)}", 46)
        out.append(StepBar(s.stage, s.line, label, c.rebuilt, size, stored, note))
    return out


def _kept(rows: list[StepBar]) -> list[StepBar]:
    if len(rows) <= MAX_ROWS:
        return rows
    rebuilt = [r for r in rows if r.rebuilt][:MAX_ROWS]
    room = MAX_ROWS - len(rebuilt)
    reused = sorted((r for r in rows if not r.rebuilt), key=lambda r: -r.size)[:room]
    keep = {id(r) for r in rebuilt + reused}
    return [r for r in rows if id(r) in keep]


def draw_rebuild(fig: FigureBase, a: Analysis, cost: RebuildCost) -> None:
    sim = cost.simulation
    all_rows = bars(cost)
    rows = _kept(all_rows)
    missed = sim.summary.missed_steps
    size = "? bytes" if cost.bytes is None else fmt_size(cost.bytes)
    stored = "" if cost.compressed_bytes is None else f" ({fmt_size(cost.compressed_bytes)} as stored)"
    headline = (
        f"{missed} step{'s' if missed != 1 else ''} rebuild: {len(cost.layers)} layer"
        f"{'s' if len(cost.layers) != 1 else ''}, {size}{stored} to build and push again"
        if missed
        else "nothing rebuilds: every step hits the cache"
    )
    fig.suptitle(
        f"{style.image_name(a)}: {style.clip(sim.change, 60)} → {headline}", fontsize=style.TITLE_SIZE, color=style.TEXT
    )
    ax = fig.add_subplot()
    shown = f", the {len(rows)} most telling of {len(all_rows)} steps" if len(rows) < len(all_rows) else ""
    ax.set_title(
        f"{sim.builder}, target {sim.target}{shown}: the layer each step made in the image "
        "(wide bars: its files; thin dark bars: its blob as stored)",
        fontsize=style.SMALL,
        color=style.TEXT,
    )
    if not rows:
        style.empty_note(ax, "No step of this Dockerfile made a layer of the image, and none misses.")
        return
    bottom_up = rows[::-1]  # the first step on top, as the Dockerfile reads
    ys = list(range(len(rows)))
    for y, r in zip(ys, bottom_up, strict=True):
        face = REBUILT if r.rebuilt else REUSED
        ax.barh(y + 0.12, r.size, height=0.5, color=face, edgecolor=style.GREY if not r.rebuilt else face)
        if r.stored is not None:
            ax.barh(y - 0.27, r.stored, height=0.16, color=STORED)
        text = fmt_size(r.size) + ("" if r.stored is None else f" · stored {fmt_size(r.stored)}")
        if r.note:
            text += f"  ← {r.note}"
        colour = style.TEXT if r.rebuilt else style.GREY
        ax.text(max(r.size, r.stored or 0), y, "  " + text, va="center", fontsize=style.SMALL, color=colour)
    widest = max(max(r.size, r.stored or 0) for r in rows) or 1
    ax.set_xlim(0, widest * 2.1)  # room for the reasons written beside the bars
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(ys, [r.label for r in bottom_up], fontsize=style.SMALL)
    for tick, r in zip(ax.get_yticklabels(), bottom_up, strict=True):
        tick.set_color(style.TEXT if r.rebuilt else style.GREY)
    style.size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=style.SMALL)
    ax.set_xlabel("bytes of the step's layer in the image", fontsize=style.SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [
        Patch(color=REBUILT, label="rebuilt by the change"),
        Patch(facecolor=REUSED, edgecolor=style.GREY, label="reused from the build cache"),
        Patch(color=STORED, label="layer blob as stored"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=style.SMALL, frameon=False)
    if cost.note:
        ax.text(0.99, 0.01, cost.note, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=style.GREY)


def rebuild_height(cost: RebuildCost) -> float:
    return 2.2 + 0.36 * max(1, min(len(bars(cost)), MAX_ROWS))


def rebuild_figure(a: Analysis, sim: CacheSimulation | RebuildCost) -> Figure:
    """What a change rebuilds, step by step, and the bytes of the layers those steps make in `a`'s image."""
    cost = sim if isinstance(sim, RebuildCost) else rebuild_cost(sim, a)
    fig = style.new_figure(11, rebuild_height(cost))
    draw_rebuild(fig, a, cost)
    return fig
