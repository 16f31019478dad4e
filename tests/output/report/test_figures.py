"""Figures plot the analysis' own numbers: bar lengths, cell areas and waterfall steps are
read back from the matplotlib artists and compared with the analysis."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import layerscope
from layerscope.output.report import comparison_figure, layers_figure, treemap_figure, waste_figure
from layerscope.output.report.comparison import steps
from layerscope.output.report.style import CATEGORY_COLOURS
from layerscope.output.report.treemap import squarify
from tests.support.dists import dist
from tests.support.factory import ImageSpec, d, f, layer_tar, wh


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fig")
    layers = [
        layer_tar([d("bin"), f("bin/sh", b"s" * 40_000)]),
        layer_tar([d("srv"), f("srv/model.bin", b"m" * 25_000), f("srv/app.py", b"a" * 3000)]),
        layer_tar([wh("srv/model.bin"), f("srv/app.py", b"A" * 3500)]),
        layer_tar([d("data"), f("data/x", b"x" * 1234)]),
    ]
    return layerscope.analyze(ImageSpec(layers).oci_archive(str(tmp / "fig.oci.tar")))


def _bars(fig: Figure) -> list[Rectangle]:
    return [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]


def _by_row(patches: list[Rectangle]) -> dict[float, list[Rectangle]]:
    rows: dict[float, list[Rectangle]] = defaultdict(list)
    for p in patches:
        rows[round(p.get_y() + p.get_height() / 2, 3)].append(p)
    return rows


def test_layer_bars_are_the_layer_sizes(analysis):
    fig = layers_figure(analysis)
    rows = _by_row(_bars(fig))
    layers = analysis.image.layers
    for layer in layers:
        wide = rows.get(round(layer.index + 0.14, 3), [])
        assert sum(p.get_width() for p in wide) == layer.size
        hidden = sum(p.get_width() for p in wide if p.get_hatch())
        expected_hidden = analysis.layers_df()["hidden_bytes"][layer.index]
        assert hidden == expected_hidden
        (stored,) = rows[round(layer.index - 0.3, 3)]
        assert stored.get_width() == layer.compressed_size
    assert layers[1].size == 28_000 and analysis.layers_df()["hidden_bytes"].tolist() == [0, 28_000, 0, 0]
    assert "fig.oci.tar" in fig.get_suptitle() and "4 layers" in fig.get_suptitle()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "#0 RUN step 0" and len(labels) == 4


def test_waste_bars_and_labels(analysis):
    fig = waste_figure(analysis)
    ax, notes = fig.axes[0], fig.axes[1]
    (row,) = _by_row(_bars(fig)).values()
    assert sum(p.get_width() for p in row) == analysis.totals.wasted_bytes == 28_000
    by_colour = {p.get_facecolor()[:3]: p.get_width() for p in row}
    assert sorted(by_colour.values()) == [3000, 25_000]  # app.py overwritten, model.bin deleted
    assert [t.get_text() for t in ax.get_yticklabels()] == ["#1 RUN step 1"]
    written = " ".join(t.get_text() for t in notes.texts)
    assert "28.0 kB hidden by layer #2" in written and "/srv/model.bin, /srv/app.py" in written
    assert "28.0 kB shipped but hidden" in fig.get_suptitle()


def test_treemap_cells_are_proportional_to_bytes(analysis):
    fig = treemap_figure(analysis, by="directory")
    cells = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    texts = {t.get_text().split("\n")[0]: t for t in fig.axes[0].texts}
    total_area = sum(c.get_width() * c.get_height() for c in cells)
    final = analysis.totals.final_size
    assert final == 40_000 + 3500 + 1234
    areas = sorted(c.get_width() * c.get_height() / total_area * final for c in cells)
    assert areas == pytest.approx(sorted([40_000, 3500, 1234]))
    assert "/bin/*" in texts and "by directory" in fig.get_suptitle()


def test_squarify_tiles_the_rectangle():
    values = [500, 433, 78, 25, 25, 7, 1]
    rects = squarify(values, 0, 0, 6, 4)
    assert len(rects) == len(values)
    assert sum(w * h for _, _, w, h in rects) == pytest.approx(24)
    for (x, y, w, h), v in zip(rects, values, strict=True):
        assert w * h == pytest.approx(24 * v / sum(values))
        assert x >= 0 and y >= 0 and x + w <= 6 + 1e-9 and y + h <= 4 + 1e-9
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in itertools.combinations(rects, 2):
        overlap_w = min(x1 + w1, x2 + w2) - max(x1, x2)
        overlap_h = min(y1 + h1, y2 + h2) - max(y1, y2)
        assert overlap_w <= 1e-9 or overlap_h <= 1e-9
    assert squarify([], 0, 0, 1, 1) == [] and squarify([1], 0, 0, 0, 1) == []


def test_comparison_waterfall_adds_up(analysis, tmp_path):
    b = layerscope.analyze(
        ImageSpec([layer_tar([d("bin"), f("bin/sh", b"s" * 40_000)])]).docker_archive(str(tmp_path / "b.tar"))
    )
    c = layerscope.compare(analysis, b)
    data = steps(c)
    assert data[0].delta == analysis.totals.size and data[-1].delta == b.totals.size
    assert data[0].delta + sum(s.delta for s in data[1:-1]) == data[-1].delta
    fig = comparison_figure(c)
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert widths[0] == analysis.totals.size and widths[-1] == b.totals.size
    assert "saves" in fig.get_suptitle() and "b.tar" in fig.get_suptitle()


def test_figures_of_a_manifest_only_analysis_say_so(tmp_path):
    a = layerscope.analyze(ImageSpec([layer_tar([f("a", b"1")])]).oci_dir(str(tmp_path / "oci")), manifest_only=True)
    assert "unknown" in waste_figure(a).get_suptitle()
    texts = " ".join(t.get_text() for ax in treemap_figure(a).axes for t in ax.texts)
    assert "No file contents" in texts
    layers = layers_figure(a)
    assert any("not read" in t.get_text() for t in layers.axes[0].texts)


def test_treemap_by_an_unknown_grouping_is_a_usage_error(analysis):
    with pytest.raises(layerscope.LayerscopeError, match="package or directory"):
        treemap_figure(analysis, by="colour")


def test_layer_bars_split_by_category(tmp_path):
    layers = [
        layer_tar([d("bin"), f("bin/sh", b"s" * 5000)]),
        layer_tar([*dist("alpha", "1.0", {"alpha/__init__.py": b"a" * 9000}), f("app/main.py", b"m" * 700)]),
    ]
    a = layerscope.analyze(ImageSpec(layers).docker_archive(str(tmp_path / "c.tar")))
    rows = _by_row(_bars(layers_figure(a)))
    colour_of = {hexcode.lower(): c for c, hexcode in CATEGORY_COLOURS.items()}
    plotted = defaultdict(int)
    for i in range(2):
        for p in rows[round(i + 0.14, 3)]:
            plotted[(i, colour_of[to_hex(p.get_facecolor())])] += p.get_width()
    expected = {(r.layer, r.category): r.bytes for r in a.categories_df(by_layer=True).itertuples()}
    assert dict(plotted) == expected
    assert expected[(1, "app")] == 700 and expected[(0, "other")] == 5000
    cells = treemap_figure(a).axes[0].texts
    assert any(t.get_text().startswith("alpha 1.0") for t in cells)


def test_many_layers_show_the_largest_and_say_so(tmp_path):
    layers = [layer_tar([f(f"l{i}", b"x" * (100 + i))]) for i in range(60)]
    a = layerscope.analyze(ImageSpec(layers).docker_archive(str(tmp_path / "many.tar")))
    fig = layers_figure(a)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 40 and labels[0].startswith("#20 ") and labels[-1].startswith("#59 ")
    assert "the 40 largest of 60 layers" in fig.get_suptitle()
