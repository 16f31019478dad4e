"""Rebuild cost per step: the bars are the bytes of the layers each step made in the image, the missed steps
are the ones a real simulation of the change rebuilds; `report --dockerfile --changed` adds the figure and a
table to every format."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

import layerscope
from layerscope.output.report import rebuild_figure
from layerscope.output.report.rebuild import MAX_ROWS, REBUILT, REUSED, STORED, bars
from layerscope.units import fmt_size
from tests.buildcache.scenario import write_tree
from tests.support.factory import ImageSpec, d, f, layer_tar

DF = """\
FROM sample/busybox:base AS build
COPY req.txt /src/
RUN make wheels

FROM sample/busybox:base
ENV APP=/app
COPY --from=build /src /deps
COPY app/ /app/
RUN chown -R 1000 /app
CMD ["serve"]
"""
HISTORY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:0a1b in / "},
    {"created_by": "ENV APP=/app", "empty_layer": True},
    {"created_by": "COPY /src /deps # buildkit"},
    {"created_by": "COPY app/ /app/ # buildkit"},
    {"created_by": "RUN /bin/sh -c chown -R 1000 /app # buildkit"},
    {"created_by": 'CMD ["serve"]', "empty_layer": True},
]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("rebuild")
    write_tree(tmp / "ctx", {"req.txt": "x\n", "app/main.py": "print()\n", "app/util.py": "u = 1\n"}, DF)
    layers = [
        layer_tar([d("bin"), f("bin/sh", b"s" * 40_000)]),
        layer_tar([d("deps"), f("deps/wheel.whl", b"w" * 25_000)]),
        layer_tar([d("app"), f("app/main.py", b"m" * 3000), f("app/util.py", b"u" * 500)]),
        layer_tar([d("app"), f("app/main.py", b"m" * 3000), f("app/util.py", b"u" * 500)]),
    ]
    return tmp / "ctx", ImageSpec(layers, history=HISTORY).docker_archive(str(tmp / "app.tar"))


def simulate(ctx: Path, *changed: str) -> layerscope.CacheSimulation:
    return layerscope.simulate_cache(layerscope.CacheRequest(context=str(ctx), changed=changed))


def test_bars_are_the_step_layers_and_the_misses_are_the_simulations(build: tuple[Path, str]) -> None:
    ctx, ref = build
    a = layerscope.analyze(ref)
    sim = simulate(ctx, "app/main.py")
    fig = rebuild_figure(a, sim)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]  # top first
    assert labels == [
        "line 7 #1: COPY --from=build /src /deps",
        "line 8 #2: COPY app/ /app/",
        "line 9 #3: RUN chown -R 1000 /app",
    ]
    wide = [p for p in ax.patches if isinstance(p, Rectangle) and round(p.get_height(), 2) == 0.5]
    thin = [p for p in ax.patches if isinstance(p, Rectangle) and round(p.get_height(), 2) == 0.16]
    by_row = {round(p.get_y() + p.get_height() / 2 - 0.12): p for p in wide}
    layers = a.image.layers
    for y, index in zip((2, 1, 0), (1, 2, 3), strict=True):
        assert by_row[y].get_width() == layers[index].size
    assert [to_hex(by_row[y].get_facecolor()).upper() for y in (2, 1, 0)] == [REUSED, REBUILT, REBUILT]
    assert sorted(p.get_width() for p in thin) == sorted(layers[i].compressed_size for i in (1, 2, 3))
    assert all(to_hex(p.get_facecolor()) == STORED for p in thin)
    rebuilt = layers[2].size + layers[3].size
    stored = layers[2].compressed_size + layers[3].compressed_size
    title = fig.get_suptitle()
    assert title.startswith("app.tar: changed: app/main.py → 2 steps rebuild: 2 layers")
    assert f"{fmt_size(rebuilt)} ({fmt_size(stored)} as stored)" in title
    written = " ".join(t.get_text() for t in ax.texts)
    assert "← app/main.py changed (and 1 more)" not in written and "← app/main.py changed" in written
    assert "← earlier step at line 8 (COPY) missed" in written


def test_a_missed_step_of_another_stage_is_a_row_without_a_layer(build: tuple[Path, str]) -> None:
    ctx, ref = build
    a = layerscope.analyze(ref)
    cost = layerscope.rebuild_cost(simulate(ctx, "req.txt"), a)
    rows = bars(cost)
    assert [(r.line, r.rebuilt, r.size) for r in rows] == [
        (2, True, 0), (3, True, 0), (7, True, a.image.layers[1].size), (8, True, a.image.layers[2].size),
        (9, True, a.image.layers[3].size),
    ]  # fmt: skip
    assert rows[0].note.endswith("(stage build, not in the image)") and rows[0].stored is None
    fig = rebuild_figure(a, cost)  # a RebuildCost works as well as a simulation
    assert "5 steps rebuild: 3 layers" in fig.get_suptitle()


def test_nothing_rebuilds(build: tuple[Path, str], tmp_path: Path) -> None:
    ctx = shutil.copytree(build[0], tmp_path / "ctx")
    (ctx / ".dockerignore").write_text("notes.md\n")
    (ctx / "notes.md").write_text("x\n")
    fig = rebuild_figure(layerscope.analyze(build[1]), simulate(ctx, "notes.md"))
    assert "nothing rebuilds: every step hits the cache" in fig.get_suptitle()
    assert all(to_hex(p.get_facecolor()).upper() != REBUILT for p in fig.axes[0].patches)


def test_many_steps_keep_the_missed_ones(tmp_path: Path) -> None:
    n = MAX_ROWS + 10
    df = "FROM sample/busybox:base\nCOPY a.txt /a\n" + "".join(f"RUN step {i}\n" for i in range(n))
    write_tree(tmp_path / "ctx", {"a.txt": "a\n", "b.txt": "b\n"}, df)
    history = [{"created_by": "ADD base"}, {"created_by": "COPY a.txt /a # buildkit"}]
    history += [{"created_by": f"RUN /bin/sh -c step {i} # buildkit"} for i in range(n)]
    layers = [layer_tar([f(f"f{i}", b"x" * (100 + i))]) for i in range(n + 2)]
    a = layerscope.analyze(ImageSpec(layers, history=history).docker_archive(str(tmp_path / "many.tar")))
    fig = rebuild_figure(a, simulate(tmp_path / "ctx", "a.txt"))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == MAX_ROWS
    assert f", the {MAX_ROWS} most telling of {n + 1} steps:" in fig.axes[0].get_title()


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.images += [v for k, v in attrs if tag == "img" and k == "src" and v]


@pytest.mark.parametrize("suffix", ["html", "pdf", "png", "svg"])
def test_report_with_a_change(build: tuple[Path, str], tmp_path: Path, run_cli, suffix: str) -> None:
    ctx, ref = build
    out = tmp_path / f"r.{suffix}"
    r = run_cli("report", ref, "-o", str(out), "--dockerfile", str(ctx / "Dockerfile"), "--context", str(ctx),
                "--changed", "app/main.py")  # fmt: skip
    assert r.code == 0, r.err
    data = out.read_bytes()
    if suffix == "html":
        text = data.decode()
        parser = _Images()
        parser.feed(text)
        assert len(parser.images) == 4  # layers, treemap, waste, rebuild
        svg = base64.b64decode(parser.images[3].split(",", 1)[1])
        assert b"app.tar: changed: app/main.py" in svg  # titles are kept as comments in the SVG
        assert "What the change rebuilds (changed: app/main.py)" in text
        assert "2 step(s) rebuild: 2 layer(s)" in text and "earlier step at line 8 (COPY) missed" in text
        assert "--changed: the listed paths are taken to differ" in text
    elif suffix == "pdf":
        assert len(re.findall(rb"/Type\s*/Page\b", data)) == 4
    elif suffix == "svg":
        assert b"2 steps rebuild: 2 layers" in data
    else:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_change_flags(build: tuple[Path, str], tmp_path: Path, run_cli) -> None:
    ctx, ref = build
    out = str(tmp_path / "r.png")
    r = run_cli("report", ref, "-o", out, "--dockerfile", str(ctx / "Dockerfile"))
    assert (r.code, r.err) == (
        2, "layerscope: --dockerfile needs --changed PATH... (the context paths changed since the image was built)\n"
    )  # fmt: skip
    r = run_cli("report", ref, "-o", out, "--changed", "app/main.py")
    assert (r.code, r.err) == (
        2, "layerscope: --changed describes a change to the build of --dockerfile: give --dockerfile too\n"
    )  # fmt: skip
    r = run_cli("report", ref, "-o", out, "--dockerfile", str(ctx / "Dockerfile"), "--context", str(ctx),
                "--changed", "nope/../../outside")  # fmt: skip
    assert r.code == 2 and r.err.count("\n") == 1 and "outside the context" in r.err
    r = run_cli("report", ref, "-o", out, "--dockerfile", str(tmp_path / "missing"), "--changed", "x")
    assert r.code == 2 and r.err.startswith("layerscope: cannot read Dockerfile")
