"""Steps of a Dockerfile matched with the layers of the image it built, and the bytes a simulation's missed
steps would make again. Images are made in the test with the history each builder writes (docs/cache-rules.md §8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import layerscope
from layerscope.buildcache.inputs.whatif import ListedStep
from layerscope.buildcache.pricing.imagemap import final_stages, history_keyword, map_steps, rebuild_cost
from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from tests.buildcache.scenario import write_tree
from tests.conftest import CliResult
from tests.support.factory import ImageSpec, d, f, layer_tar

BASE = [{"created_by": "/bin/sh -c #(nop) ADD file:0a1b in / ", "created": "2024-01-01T00:00:00Z"}]

DF = """\
FROM sample/busybox:base AS build
COPY req.txt /src/
RUN make wheels

FROM sample/busybox:base
ENV APP=/app
WORKDIR /app
COPY --from=build /src /deps
COPY app/ /app/
RUN chown -R 1000 /app
USER app
CMD ["serve"]
"""

BUILDKIT = [
    {"created_by": "ENV APP=/app", "empty_layer": True},
    {"created_by": "WORKDIR /app"},
    {"created_by": "COPY /src /deps # buildkit", "comment": "buildkit.dockerfile.v0"},
    {"created_by": "COPY app/ /app/ # buildkit", "comment": "buildkit.dockerfile.v0"},
    {"created_by": "RUN /bin/sh -c chown -R 1000 /app # buildkit", "comment": "buildkit.dockerfile.v0"},
    {"created_by": "USER app", "empty_layer": True},
    {"created_by": 'CMD ["serve"]', "empty_layer": True},
]
CLASSIC = [
    {"created_by": "/bin/sh -c #(nop)  ENV APP=/app", "empty_layer": True},
    {"created_by": "/bin/sh -c #(nop) WORKDIR /app"},
    {"created_by": "/bin/sh -c #(nop) COPY dir:4f5e in /deps "},
    {"created_by": "/bin/sh -c #(nop) COPY dir:9a8b in /app/ "},
    {"created_by": "|1 V=2 /bin/sh -c chown -R 1000 /app"},
    {"created_by": "/bin/sh -c #(nop)  USER app", "empty_layer": True},
    {"created_by": '/bin/sh -c #(nop)  CMD ["serve"]', "empty_layer": True},
]


def image(tmp_path: Path, history: list[dict[str, object]], name: str = "img.tar") -> layerscope.Analysis:
    """A base layer, then one layer per non-empty entry of `history` (sizes 100, 2000, 30, 4000, ...)."""
    full = BASE + history
    n_layers = sum(1 for h in full if not h.get("empty_layer"))
    layers = [layer_tar([d("x"), f(f"x/{i}", b"b" * (10 ** (i % 4 + 2)))]) for i in range(n_layers)]
    return layerscope.analyze(ImageSpec(layers, history=full).docker_archive(str(tmp_path / name)))


def listed(df: str) -> list[ListedStep]:
    from layerscope.buildfile.stages import load_dockerfile

    out = []
    for stage in load_dockerfile(df).stages:
        for ins in (stage.from_ins, *stage.instructions):
            out.append(ListedStep(stage.label, ins.line, ins.keyword, ins.original))
    return out


@pytest.mark.parametrize(
    ("created_by", "keyword"),
    [
        ("RUN /bin/sh -c make # buildkit", "RUN"),
        ("RUN |2 A=1 B=x /bin/sh -c make # buildkit", "RUN"),
        ("/bin/sh -c apt-get update", "RUN"),
        ("|1 V=2 /bin/sh -c make", "RUN"),
        ("make all", "RUN"),  # classic, exec form
        ("/bin/sh -c #(nop)  ENV A=1", "ENV"),
        ("/bin/sh -c #(nop) COPY file:3a4f in /app ", "COPY"),
        ("COPY --chown=app a b /dst/ # buildkit", "COPY"),
        ("WORKDIR /app", "WORKDIR"),
        ("EXPOSE [8080/tcp]", "EXPOSE"),
        ("", None),
        (None, None),
    ],
)
def test_history_keyword(created_by: str | None, keyword: str | None) -> None:
    assert history_keyword(created_by) == keyword


@pytest.mark.parametrize("history", [BUILDKIT, CLASSIC], ids=["buildkit", "classic"])
def test_the_final_stage_steps_own_the_top_layers(tmp_path: Path, history: list[dict[str, object]]) -> None:
    a = image(tmp_path, history)
    steps = map_steps(listed(DF), None, a.image)
    assert steps.final_stages == ("stage-1",) and steps.unmatched == 0 and steps.note is None
    by_line = {m.line: m for m in steps.matched}
    assert sorted(by_line) == [6, 7, 8, 9, 10, 11, 12]  # the build stage left no layer in the image
    assert [by_line[n].layers for n in (6, 7, 8, 9, 10, 11, 12)] == [(), (1,), (2,), (3,), (4,), (), ()]
    for m in steps.matched:
        assert m.size == sum(a.image.layers[i].size for i in m.layers)
        assert m.compressed_size == sum(a.image.layers[i].compressed_size for i in m.layers)
    assert by_line[8].size == a.image.layers[2].size == 10_000


def test_stages_built_from_another_stage_are_in_the_image(tmp_path: Path) -> None:
    df = (
        "FROM sample/busybox:base AS base\nRUN setup\n\n"
        "FROM base AS app\nCOPY app/ /app/\n\n"
        "FROM sample/x AS other\nRUN x\n"
    )
    steps = listed(df)
    assert final_stages(steps, "app") == ("base", "app")
    assert final_stages(steps, None) == ("other",)
    history = [{"created_by": "RUN /bin/sh -c setup # buildkit"}, {"created_by": "COPY app/ /app/ # buildkit"}]
    mapped = map_steps(steps, "app", image(tmp_path, history).image)
    assert [(m.stage, m.line, m.layers) for m in mapped.matched] == [("base", 2, (1,)), ("app", 5, (2,))]


def test_a_history_that_does_not_match_says_where(tmp_path: Path) -> None:
    history = [*BUILDKIT[:3], {"created_by": "RUN /bin/sh -c something else # buildkit"}, *BUILDKIT[4:]]
    mapped = map_steps(listed(DF), None, image(tmp_path, history).image)
    assert [m.line for m in mapped.matched] == [10, 11, 12]
    assert mapped.unmatched == 4
    assert mapped.note is not None and "at line 9 (COPY) and above" in mapped.note


def test_a_label_the_builder_appended_is_skipped(tmp_path: Path) -> None:
    history = [*CLASSIC, {"created_by": "/bin/sh -c #(nop)  LABEL ci.build=42", "empty_layer": True}]
    mapped = map_steps(listed(DF), None, image(tmp_path, history).image)
    assert mapped.unmatched == 0 and len(mapped.matched) == 7


def test_rebuild_cost_sums_the_layers_of_missed_steps(tmp_path: Path) -> None:
    write_tree(tmp_path / "ctx", {"req.txt": "x\n", "app/main.py": "print()\n"}, DF)
    a = image(tmp_path, BUILDKIT)
    sim = simulate_cache(CacheRequest(context=str(tmp_path / "ctx"), changed=("app/main.py",)))
    cost = rebuild_cost(sim, a)
    assert [c.step.line for c in cost.missed] == [9, 10]
    assert cost.layers == (3, 4)
    assert cost.bytes == a.image.layers[3].size + a.image.layers[4].size
    assert cost.compressed_bytes == a.image.layers[3].compressed_size + a.image.layers[4].compressed_size
    df = cost.steps_df()
    assert list(df.columns) == [
        "stage", "line", "instruction", "text", "status", "reason", "cause", "layers", "size", "compressed_size",
    ]  # fmt: skip
    row = df[df.line == 9].iloc[0]
    assert (row.status, row.cause, row.layers, row["size"]) == ("miss", "file", "3", a.image.layers[3].size)
    assert df[df.stage == "build"]["size"].isna().all()  # the build stage made no layer of this image
    # a change in the build stage: its RUN misses, but the copy of its output is keyed by content (BuildKit)
    sim = simulate_cache(CacheRequest(context=str(tmp_path / "ctx"), changed=("req.txt",)))
    cost = layerscope.rebuild_cost(sim, a.image)
    assert [c.step.line for c in cost.missed] == [2, 3, 8, 9, 10]
    assert cost.layers == (2, 3, 4)


@pytest.mark.parametrize("flavour", ["buildkit", "classic"])
@pytest.mark.parametrize("label", [False, True], ids=["", "label"])
def test_one_mapping_for_cache_image_and_rebuild_cost(
    tmp_path: Path, run_cli: Callable[..., CliResult], flavour: str, label: bool
) -> None:
    """`cache --image` and `rebuild_cost` (explore's Cache view, the report) read the same layers per step, a
    `--label` entry the builder appended after the last step included."""
    from tests.buildcache import bumpcase

    history = bumpcase.history(flavour)
    if label:
        history.append({"created_by": "/bin/sh -c #(nop)  LABEL ci.build=42", "empty_layer": True})
    ctx = tmp_path / "ctx"
    write_tree(ctx, {"requirements.txt": bumpcase.REQUIREMENTS, "src/app.py": "print()\n"}, bumpcase.DOCKERFILE)
    ref = ImageSpec(bumpcase.layers(), history).docker_archive(str(tmp_path / "img.tar"))
    r = run_cli("cache", "--context", str(ctx), "--changed", "requirements.txt", "--image", ref, "--json")
    assert r.code == 0, r.err
    by_cache = {s["line"]: s["layers"] for s in json.loads(r.out)["steps"] if s["instruction"] != "FROM"}
    sim = simulate_cache(CacheRequest(context=str(ctx), changed=("requirements.txt",)))
    cost = rebuild_cost(sim, layerscope.analyze(ref))
    by_map = {c.step.line: None if c.layers is None else list(c.layers.layers) for c in cost.steps}
    assert by_cache == {n: m for n, m in by_map.items() if n != 1} == {2: [1], 3: [2], 4: [3], 5: [4], 6: []}
    assert cost.layers == (2, 3, 4) and cost.note is None
