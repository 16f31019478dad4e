"""What bumping a package's pin costs, predicted by `packages --json` (`rebuild`) from the image of the last build
and its rawjson log, checked against real rebuilds with the pin changed: the layers whose diff_id changed, their
bytes, and the seconds the rebuild's own log spent (within 0.3 s + 25 %, as for `cache --timings`).

A requirements-based Python service (tests/buildcache/pyservice.py), installed in one step and in two (the heavy
package first). Built on docker-28.5-containerd; the other engines are `slow` (20.10 writes no rawjson).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.buildcache.pyservice import LIGHTS, PACKAGES, V1, context
from tests.buildcache.realbuild import (
    BASE,
    ENGINE_CASES,
    Built,
    build,
    executed_seconds,
    fresh_cache,
    skip_other_engines,
)
from tests.conftest import CliResult
from tests.support.dockerd import Engine

Run = Callable[..., CliResult]
BUMPED_LIGHT = {**V1, "idna": "3.7"}
BUMPED_HEAVY = {**V1, "torch": "2.1.1"}


@pytest.fixture(scope="module")
def service(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One cold build of each layout, then each with one pin bumped (the cache of the cold build in place)."""
    out = tmp_path_factory.mktemp("bump")
    fresh_cache(engine)
    cases = {
        "one": (False, {"v1": V1, "light": BUMPED_LIGHT}),
        "two": (True, {"v1": V1, "light": BUMPED_LIGHT, "heavy": BUMPED_HEAVY}),
    }
    ctx: dict[str, Path] = {}
    built: dict[str, Built] = {}
    for layout, (two_step, versions) in cases.items():
        for name, pins in versions.items():
            key = f"{layout}-{name}"
            ctx[key] = context(out / key, BASE, pins, two_step)
            built[key] = build(engine, ctx[key], f"bump/{layout}:{name}", out)
        (out / f"{layout}.rawjson").write_text(built[f"{layout}-v1"].log)
    return {"ctx": ctx, "built": built, "logs": {k: out / f"{k}.rawjson" for k in cases}, "out": out}


def packages_doc(run_cli: Run, built: Built, *extra: str) -> dict[str, Any]:
    r = run_cli("packages", f"docker-archive:{built.archive}", "--json", *extra)
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def rebuilds(run_cli: Run, built: Built, ctx: Path | None, log: Path | None) -> dict[str, dict[str, Any]]:
    extra = [] if ctx is None else ["--dockerfile", str(ctx / "Dockerfile"), "--context", str(ctx)]
    extra += ["--timings", str(log)] if log is not None else []
    doc = packages_doc(run_cli, built, *extra)
    return {p["name"]: p["rebuild"] for p in doc["packages"]}


def changed_layers(a: Built, b: Built) -> list[int]:
    assert len(a.diff_ids) == len(b.diff_ids)
    return [i for i, (x, y) in enumerate(zip(a.diff_ids, b.diff_ids, strict=True)) if x != y]


def check_against(rebuild: dict[str, Any], before: Built, after: Built, engine: Engine) -> None:
    """The prediction made from `before` against the rebuild that made `after`."""
    redone = changed_layers(before, after)
    assert rebuild["layers"] == redone
    assert rebuild["bytes"] == sum(before.image.layers[i].size or 0 for i in redone)
    assert rebuild["bytes"] == sum(after.image.layers[i].size or 0 for i in redone)  # a bump keeps the sizes
    assert rebuild["compressed_bytes"] == sum(before.image.layers[i].compressed_size or 0 for i in redone)
    if not engine.spec.modern:
        assert rebuild["seconds"] is None and rebuild["seconds_source"] is None
        return
    real = executed_seconds(after.log)
    assert rebuild["seconds_source"] == "rawjson"
    assert rebuild["seconds"] == pytest.approx(real, abs=0.3 + 0.25 * real)


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
def test_one_install_step(run_cli: Run, engine: Engine, engine_id: str, request: pytest.FixtureRequest) -> None:
    skip_other_engines(engine, engine_id)
    s = request.getfixturevalue("service")
    v1, bumped = s["built"]["one-v1"], s["built"]["one-light"]
    log = s["logs"]["one"] if engine.spec.modern else None
    found = rebuilds(run_cli, v1, s["ctx"]["one-v1"], log)
    idna = found["idna"]
    assert (idna["step_line"], idna["step_text"].split()[:2]) == (
        4,
        ["RUN", "--mount=type=bind,source=wheels,target=/wheels"],
    )
    assert idna["change"] == "requirements.txt changed (read by RUN at line 4)"
    check_against(idna, v1, bumped, engine)
    # every package of the step shares the figure, and says with whom
    assert set(found) == set(PACKAGES)
    for name, r in found.items():
        assert r["shared_with"] == sorted(set(PACKAGES) - {name})
        assert {k: r[k] for k in ("layers", "bytes", "seconds")} == {k: idna[k] for k in ("layers", "bytes", "seconds")}
    # through the history alone: the same layers and bytes, no line, no seconds
    alone = rebuilds(run_cli, v1, None, None)["idna"]
    assert alone["step_line"] is None and alone["step_text"].startswith("RUN mkdir -p /usr/local/lib/python3.11")
    assert (alone["layers"], alone["bytes"], alone["seconds"]) == (idna["layers"], idna["bytes"], None)
    assert alone["change"] == "the file it reads, copied by `COPY requirements.txt ./` (layer 2), changes"


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
def test_two_install_steps(run_cli: Run, engine: Engine, engine_id: str, request: pytest.FixtureRequest) -> None:
    skip_other_engines(engine, engine_id)
    s = request.getfixturevalue("service")
    v1 = s["built"]["two-v1"]
    found = rebuilds(run_cli, v1, s["ctx"]["two-v1"], s["logs"]["two"] if engine.spec.modern else None)
    assert found["torch"]["step_line"] == 4 and found["torch"]["shared_with"] == []
    assert found["torch"]["change"] == "requirements-heavy.txt changed (read by RUN at line 4)"
    assert found["idna"]["step_line"] == 8 and found["idna"]["shared_with"] == sorted(set(LIGHTS) - {"idna"})
    check_against(found["idna"], v1, s["built"]["two-light"], engine)
    check_against(found["torch"], v1, s["built"]["two-heavy"], engine)
    assert len(found["torch"]["layers"]) > len(found["idna"]["layers"])


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
def test_split_advice_matches_the_two_step_build(
    run_cli: Run, engine: Engine, engine_id: str, request: pytest.FixtureRequest
) -> None:
    """The single-step image's advice: install torch first. Its figures after the split against the two-step
    layout (the same split, built for real): the layers and bytes a light bump redid there."""
    skip_other_engines(engine, engine_id)
    s = request.getfixturevalue("service")
    v1, ctx = s["built"]["one-v1"], s["ctx"]["one-v1"]
    log = ["--timings", str(s["logs"]["one"])] if engine.spec.modern else []
    doc = packages_doc(run_cli, v1, "--dockerfile", str(ctx / "Dockerfile"), "--context", str(ctx), *log)
    [advice] = doc["rebuild_advice"]
    assert (advice["heavy"], advice["others"], advice["step_line"]) == (["torch"], 6, 4)
    assert set(advice["files"]) == {"requirements-torch.txt", "requirements.txt"}
    assert advice["files"]["requirements-torch.txt"] == "torch==2.1.0\n"
    # the split is the two-step layout: torch's pin file copied and installed first, the install step as written
    one_step = (ctx / "Dockerfile").read_text().splitlines(keepends=True)
    install = "".join(one_step[3:6])
    heavy = install.replace("requirements.txt", "requirements-torch.txt")
    assert advice["dockerfile"] == "".join([*one_step[:2], "COPY requirements-torch.txt ./\n", heavy, *one_step[2:]])
    two, two_light = s["built"]["two-v1"], s["built"]["two-light"]
    redone = changed_layers(two, two_light)
    real_bytes = sum(two.image.layers[i].size or 0 for i in redone)
    after, before = advice["after"], advice["before"]
    assert len(after["layers"]) == len(redone)
    # the two-step requirements.txt lacks torch's pin line: a few bytes apart
    assert after["bytes"] == pytest.approx(real_bytes, abs=64)
    assert after["bytes"] < before["bytes"] / 5
    if engine.spec.modern:  # the install step's seconds are kept whole: at most what it takes (within noise)
        real = executed_seconds(two_light.log)
        assert after["seconds"] >= real - (0.3 + 0.25 * real)
    text = run_cli("packages", f"docker-archive:{v1.archive}", "--dockerfile", str(ctx / "Dockerfile"),
                   "--context", str(ctx), *log).out  # fmt: skip
    assert "Costliest bumps" in text and "Split the install at line 4: torch" in text
    assert "COPY requirements-torch.txt ./" in text
