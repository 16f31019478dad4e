"""Two images compared (e.g. a single-stage build against its multi-stage rewrite): a
waterfall from A's size to B's, one step per category of the final filesystem plus one for
the hidden bytes, and beside it the packages whose bytes changed most.

The steps add up exactly: size = final_size + wasted_bytes, and the categories split
final_size, so A + Σ steps = B.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure, FigureBase

from layerscope.analysis.compare import Comparison
from layerscope.analysis.pkgview import UNAVAILABLE
from layerscope.output.report import style
from layerscope.units import fmt_size

MAX_PACKAGES = 12


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    start: int  # where the bar begins
    delta: int  # signed; totals have start 0 and delta = the total
    total: bool = False


def steps(c: Comparison) -> list[Step]:
    """A's size, the per-category and hidden-byte changes (B minus A, largest saving
    first), B's size. Empty where a side's sizes are unknown."""
    ta, tb = c.a.totals, c.b.totals
    if ta.size is None or tb.size is None or ta.wasted_bytes is None or tb.wasted_bytes is None:
        return []
    changes: list[tuple[str, int]] = [("hidden by later layers", tb.wasted_bytes - ta.wasted_bytes)]
    if c.categories is None:
        changes.append(("final filesystem", (tb.final_size or 0) - (ta.final_size or 0)))
    else:
        changes += [(x.name, x.delta) for x in c.categories]
    changes = sorted([ch for ch in changes if ch[1]], key=lambda ch: ch[1])
    out = [Step(f"A: {style.image_name(c.a)}", 0, ta.size, True)]
    level = ta.size
    for label, delta in changes:
        out.append(Step(label, level, delta))
        level += delta
    out.append(Step(f"B: {style.image_name(c.b)}", 0, tb.size, True))
    return out


def _bar_colour(s: Step) -> str:
    if s.total:
        return style.TOTAL
    return style.SAVED if s.delta < 0 else style.GROWN


def _draw_waterfall(ax: Axes, c: Comparison) -> None:
    data = steps(c)
    if not data:
        style.empty_note(ax, "Sizes unknown for one of the images (layers not read).")
        return
    ys = list(range(len(data)))[::-1]
    for y, s in zip(ys, data, strict=True):
        left, width = (0, s.delta) if s.total else (min(s.start, s.start + s.delta), abs(s.delta))
        ax.barh(y, width, left=left, height=0.6, color=_bar_colour(s))
        text = fmt_size(s.delta) if s.total else style.signed_size(s.delta)
        ax.text(left + width, y, "  " + text, va="center", fontsize=style.SMALL, color=style.TEXT)
    widest = max(s.start + max(s.delta, 0) if not s.total else s.delta for s in data)
    ax.set_xlim(0, widest * 1.3)
    ax.set_yticks(ys, [style.clip(s.label, 34) for s in data], fontsize=style.SMALL)
    style.size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=style.SMALL)
    ax.set_title("from A's size to B's: green steps are bytes B saves, red ones bytes it adds", fontsize=style.SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_packages(ax: Axes, c: Comparison) -> None:
    if c.packages is None:
        style.empty_note(ax, UNAVAILABLE + ":\nno per-package differences")
        return
    changed = [p for p in c.packages if p.delta][:MAX_PACKAGES]
    if not changed:
        style.empty_note(ax, "Every package has the same bytes in both images.")
        return
    ys = list(range(len(changed)))[::-1]
    for y, p in zip(ys, changed, strict=True):
        ax.barh(y, p.delta, height=0.6, color=style.SAVED if p.delta < 0 else style.GROWN)
        ax.text(
            p.delta,
            y,
            f" {style.signed_size(p.delta)} ",
            va="center",
            ha="left" if p.delta > 0 else "right",
            fontsize=style.SMALL,
            color=style.TEXT,
        )
    slots = max(len(changed), 6)  # a lone package gets a bar of normal height, centred
    pad = (slots - len(changed)) / 2
    ax.set_ylim(-0.6 - pad, len(changed) - 0.4 + pad)
    reach = max(abs(p.delta) for p in changed)
    ax.set_xlim(-reach * 1.6, reach * 1.6)
    ax.axvline(0, color=style.GREY, linewidth=0.8)
    labels = [style.clip(f"{p.name} {_versions(p.a_version, p.b_version)}", 40) for p in changed]
    ax.set_yticks(ys, labels, fontsize=style.SMALL)
    style.size_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=style.SMALL)
    ax.set_title("packages whose bytes changed most (B minus A)", fontsize=style.SMALL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _versions(a: str | None, b: str | None) -> str:
    if a == b:
        return a or ""
    return f"{a or '(absent)'} → {b or '(absent)'}"


def draw_comparison(fig: FigureBase, c: Comparison) -> None:
    sv = c.saving
    a, b = style.image_name(c.a), style.image_name(c.b)
    if sv.bytes is None:
        title = f"{b} against {a}"
    elif sv.bytes >= 0:
        title = f"Where {b} saves {fmt_size(sv.bytes)} ({sv.percent or 0:.1f} %) against {a}"
    else:
        title = f"Where {b} is {fmt_size(-sv.bytes)} ({-(sv.percent or 0):.1f} %) larger than {a}"
    fig.suptitle(title, fontsize=style.TITLE_SIZE, color=style.TEXT)
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    _draw_waterfall(left, c)
    _draw_packages(right, c)


def comparison_height(c: Comparison) -> float:
    rows = max(len(steps(c)), min(len([p for p in c.packages or () if p.delta]), MAX_PACKAGES), 3)
    return 1.6 + 0.36 * rows


def comparison_figure(c: Comparison) -> Figure:
    """Where B's bytes differ from A's: by category (a waterfall) and by package."""
    fig = style.new_figure(12, comparison_height(c))
    draw_comparison(fig, c)
    return fig
