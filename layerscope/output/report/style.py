"""What every figure shares: a colour-blind-safe palette (Okabe & Ito), one colour per
category for every figure, human sizes on axes, short step labels, and figures made
without pyplot (no global figure registry, no GUI backend: a Figure with an Agg canvas).
"""

from __future__ import annotations

import os
from typing import Any

import matplotlib
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

from layerscope.model import Analysis
from layerscope.sources.references import LOCAL_PREFIXES
from layerscope.textsafe import visible
from layerscope.units import fmt_size

# Okabe & Ito (2008), "Color Universal Design"; plus Tol's wine for a tenth colour.
ORANGE, SKY, GREEN, YELLOW = "#E69F00", "#56B4E9", "#009E73", "#F0E442"
BLUE, VERMILLION, PURPLE, BLACK = "#0072B2", "#D55E00", "#CC79A7", "#000000"
GREY, LIGHT, WINE = "#999999", "#DDDDDD", "#882255"
TEXT = "#222222"

CATEGORY_COLOURS = {
    "python-packages": BLUE,
    "os-packages": SKY,
    "app": GREEN,
    "package-caches": VERMILLION,
    "bytecode": YELLOW,
    "tests-and-docs": PURPLE,
    "build-toolchains": ORANGE,
    "accelerator-libraries": BLACK,
    "model-weights": WINE,
    "other": GREY,
}
HATCH = "////"  # bytes a later layer hid: white, hatched in grey
SAVED, GROWN, TOTAL = GREEN, VERMILLION, BLUE  # comparisons: smaller, larger, the images

TITLE_SIZE, LABEL_SIZE, SMALL = 11, 9, 8


def colour(category: str) -> str:
    return CATEGORY_COLOURS.get(category, GREY)


def hidden_patch(label: str) -> Patch:
    return Patch(facecolor="white", edgecolor=GREY, hatch=HATCH, label=label)


class PlainTextFigure(Figure):
    """A figure whose text is never mathtext, wherever it is drawn.

    Its labels are image text: a history line or file name with two `$` would be typeset, or
    fail to parse and raise. `render_report` draws under `text.parse_math: False`, but a
    notebook shows `layers_figure(a)` long after it was made, with the user's rcParams; and
    matplotlib makes tick labels while drawing. So every text is made plain when drawn.
    """

    def draw(self, renderer: RendererBase) -> None:
        for text in self.findobj(Text):
            if text.get_parse_math():
                text.set_parse_math(False)
        with matplotlib.rc_context({"text.parse_math": False}):  # the texts made while drawing
            super().draw(renderer)


def new_figure(width: float, height: float) -> Figure:
    """A figure that renders to any format without pyplot, its text never read as mathtext."""
    fig = PlainTextFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def short_size(n: float) -> str:
    """Axis ticks: "500 kB", "1.5 MB" (decimal units, like inspect); "0" for zero."""
    if n == 0:
        return "0"
    sign = "−" if n < 0 else ""
    text = fmt_size(int(abs(n)))
    return sign + text.replace(".0 ", " ")


def signed_size(n: int) -> str:
    return ("+" if n > 0 else "−" if n < 0 else "±") + fmt_size(abs(n))


def size_axis(axis: Any) -> None:
    """Human sizes on a matplotlib Axis of bytes, at round decimal steps."""
    axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: short_size(x)))


def clip(text: str, width: int) -> str:
    """Image text for a figure: escaped (textsafe), then cut to `width`."""
    text = visible(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def pct(part: int | None, whole: int | None) -> str:
    return "n/a" if part is None or not whole else f"{100 * part / whole:.1f} %"


def step_text(created_by: str | None, comment: str | None = None) -> str:
    """A history entry as the Dockerfile said it: `RUN ...`, `COPY ...`."""
    if not created_by:
        return visible(f"({comment})") if comment else "(no history)"
    text = " ".join(created_by.replace("/bin/sh -c #(nop) ", "").split())
    if text.startswith("/bin/sh -c "):
        text = "RUN " + text[len("/bin/sh -c ") :]
    text = text.replace("RUN /bin/sh -c ", "RUN ", 1)
    return visible(text.removesuffix(" # buildkit"))


def layer_label(a: Analysis, index: int, width: int = 44) -> str:
    layer = a.image.layers[index]
    h = layer.history_index
    comment = a.image.history[h].comment if h is not None and h < len(a.image.history) else None
    return clip(f"#{index} {step_text(layer.created_by, comment)}", width)


def image_name(a: Analysis) -> str:
    """What a title calls the image: a local archive's file name, else the reference."""
    ref = a.image.reference
    local = os.path.exists(ref)
    for prefix in LOCAL_PREFIXES:
        if ref.startswith(prefix):
            ref, local = ref[len(prefix) :], True
            break
    return visible((os.path.basename(ref.rstrip("/")) or ref) if local else ref)


def empty_note(ax: Any, text: str) -> None:
    """A panel that has nothing to plot says why, in the middle of its axes."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=LABEL_SIZE, color=TEXT, wrap=True)
