"""Figures show image text as it is: a history line, file name or package name with two `$`
is never typeset as mathtext, or refused by its parser, wherever the figure is drawn: in
`layerscope report`, or in a notebook long after the helper made it, with mathtext on."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import layerscope
from layerscope.analysis.compare import Comparison
from layerscope.model import Analysis
from layerscope.output.report import comparison_figure, layers_figure, treemap_figure, waste_figure
from tests.support.dists import dist
from tests.support.factory import ImageSpec, d, f, layer_tar

MATH = "$\\bad{x}$"  # not a mathtext symbol: parsed, drawing the figure raises
TYPESET = "$x^2$"  # parsed, it would show as x squared


def _image(tmp: Path, n: int) -> Analysis:
    """The first `n` layers of an image whose text holds dollar signs."""
    layers = [
        layer_tar([d("app"), f(f"app/{MATH}", b"x" * 4000), f(f"app/b{TYPESET}", b"y" * 2000)]),
        layer_tar([f(f"app/{MATH}", b"z"), *dist(f"pkg{MATH}", f"1{TYPESET}", {"pkg/__init__.py": b"p" * 3000})]),
    ]
    history = [
        {"created_by": f"/bin/sh -c a {MATH}", "created": "2024-01-01T00:00:00Z"},
        {"created_by": f"/bin/sh -c b {TYPESET}", "created": "2024-01-01T00:00:00Z"},
    ]
    spec = ImageSpec(layers[:n], history=history[:n])
    return layerscope.analyze(spec.docker_archive(str(tmp / f"math{n}.tar")), use_cache=False)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return _image(tmp_path_factory.mktemp("mathtext"), 2)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory, analysis: Analysis) -> Comparison:
    """The image against its first layer alone: the package and the second step differ."""
    return layerscope.compare(_image(tmp_path_factory.mktemp("mathtext1"), 1), analysis)


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if "$" in t.get_text()]


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("make", [layers_figure, waste_figure, treemap_figure, "comparison"])
def test_helpers_draw_dollar_signs_literally_with_mathtext_on(
    analysis: Analysis, comparison: Comparison, make: Callable[[Analysis], Figure] | str, fmt: str
) -> None:
    with matplotlib.rc_context({"text.parse_math": True}):  # matplotlib's default, as in a notebook
        fig = comparison_figure(comparison) if isinstance(make, str) else make(analysis)
        fig.savefig(io.BytesIO(), format=fmt)  # raises "Unknown symbol: \bad" if parsed
    shown = _texts(fig)
    assert shown, "no label holds the image's text"
    assert all(not t.get_parse_math() for t in shown)
    assert any(MATH in t.get_text() or TYPESET in t.get_text() for t in shown)


def test_tick_labels_made_while_drawing_are_plain(analysis: Analysis) -> None:
    fig = layers_figure(analysis)
    with matplotlib.rc_context({"text.parse_math": True}):
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")  # as IPython's inline backend does
    labels = [t for ax in fig.axes for t in ax.get_yticklabels() if "$" in t.get_text()]
    assert any(MATH in t.get_text() for t in labels)
    assert all(not t.get_parse_math() for t in labels)
