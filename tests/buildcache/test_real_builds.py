"""The scenario suite confirmed by real builds: build the context, change it, rebuild, and compare the steps
each builder took from its cache with `layerscope cache`'s prediction (or with the difference the scenario
records for that engine, with its reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layerscope.buildcache.simulate import simulate_cache
from layerscope.errors import LayerscopeError
from tests.buildcache import buildlogs
from tests.buildcache.differential.corpus import MODEL  # engine -> (builder model, image store)
from tests.buildcache.engines import (
    ON_ENGINE,
    RETRIES,
    Buildah,
    BuildFailed,
    DaemonBuilder,
    Engine,
    TransientFailure,
    retry_transient,
)
from tests.buildcache.scenario import Scenario, cache_request, load_all
from tests.support.dockerd import Engine as SessionEngine

SCENARIOS = load_all()
EXPECT_KEY = {"modern-containerd": "buildkit", "modern-overlay2": "overlay2", "docker20-buildkit": "buildkit-20.10",
              "docker20-classic": "classic", "buildah": "buildah"}  # fmt: skip


def _predicted(sc: Scenario, engine: str, root: Path) -> dict[int, str] | str:
    builder, store = MODEL[engine]
    try:
        sim = simulate_cache(cache_request(sc, builder, store, root))
    except LayerscopeError as err:
        return str(err)
    # FROM is compared through the steps built on it: its vertex's `cached` flag is no cache verdict
    return {s.line: s.status for s in sim.steps if s.status in ("hit", "miss", "depends") and s.instruction != "FROM"}


def _slow(name: str) -> list[pytest.MarkDecorator]:
    return [] if name == "modern-containerd" else [pytest.mark.slow]


DAEMON_CASES = [pytest.param(b, s, marks=_slow(b), id=f"{b}-{s.name}") for b in ON_ENGINE for s in SCENARIOS]
BUILDAH_CASES = [pytest.param(s, marks=_slow("buildah"), id=f"buildah-{s.name}") for s in SCENARIOS]


@pytest.mark.docker
@pytest.mark.parametrize(("builder_name", "sc"), DAEMON_CASES)
def test_real_build_matches_prediction(builder_name: str, sc: Scenario, engine: SessionEngine, tmp_path: Path) -> None:
    if ON_ENGINE[builder_name] != engine.id:
        pytest.skip(f"{builder_name} runs on {ON_ENGINE[builder_name]}, not {engine.id}")
    _check(DaemonBuilder(builder_name, engine), sc, tmp_path)


@pytest.fixture(scope="module")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    b = Buildah(tmp_path_factory.mktemp("buildah"))
    why_not = b.available()
    if why_not:
        pytest.skip(f"buildah: {why_not}")
    yield b
    b.clean()  # no mounted working container outlives the module


@pytest.mark.parametrize("sc", BUILDAH_CASES)
def test_buildah_build_matches_prediction(sc: Scenario, buildah: Buildah, tmp_path: Path) -> None:
    _check(buildah, sc, tmp_path)


def _check(engine: Engine, sc: Scenario, tmp_path: Path) -> None:
    skip = sc.real.get(f"skip_{engine.name}")
    if skip:
        pytest.skip(f"{engine.name}: {skip}")
    # a transient infrastructure failure (engines.TRANSIENT) builds the whole scenario again, from the reset,
    # in trees of its own (the written contexts hold symlinks that cannot be written twice)
    tries = iter(range(RETRIES + 1))
    retry_transient(lambda: _check_once(engine, sc, tmp_path / f"try-{next(tries)}"))


def _check_once(engine: Engine, sc: Scenario, tmp_path: Path) -> None:
    engine_name = engine.name
    before, after = tmp_path / "before", tmp_path / "after"
    predicted = _predicted(sc, engine_name, tmp_path)
    ctx_before = sc.write_contexts(tmp_path / "contexts-before", after=False)
    ctx_after = sc.write_contexts(tmp_path / "contexts-after", after=True)
    engine.reset()
    for tag in sc.context_images().values():  # image contexts: the test base under their own tag
        engine.set_base(1, tag)
    try:
        engine.build(before, "scenario:before", sc.args_before(), sc.target, ctx_before)
    except TransientFailure:
        raise
    except BuildFailed as err:
        if isinstance(predicted, str):  # the model says this builder refuses the Dockerfile: so does the build
            return
        raise AssertionError(f"the first build failed:\n{err.log[-3000:]}") from None
    assert not isinstance(predicted, str), f"the model refuses ({predicted}) but {engine_name} built it"
    if sc.change.get("base_changed"):
        engine.set_base(2)
    for name in sc.republished():
        engine.set_base(2, sc.context_images()[name])
    try:
        log = engine.build(after, "scenario:after", sc.args_after(), sc.target, ctx_after)
    finally:
        if sc.change.get("base_changed"):
            engine.set_base(1)
    after_text = (after / "Dockerfile").read_text()
    real = buildlogs.read_verdicts(engine_name, log, after_text, sc.args_after(), sc.target)
    recorded = sc.real.get(engine_name)
    if recorded is not None:  # the builder disagrees with the model here: the scenario records how
        lines = sorted(real)
        assert "".join(real[n][0] for n in lines) == recorded.replace(" ", ""), (
            real,
            sc.real.get(f"why_{engine_name}"),
        )
        return
    missing = sorted(set(predicted) - set(real))
    assert not missing, f"steps {missing} predicted but not seen in the {engine_name} log:\n{log[-3000:]}"
    extra = sorted(set(real) - set(predicted))
    assert not extra, f"steps {extra} seen in the {engine_name} log but predicted as none/skipped"
    # `depends`: the builder decides on bytes a re-run step writes; either outcome is right
    wrong = [n for n in sorted(real) if real[n] != predicted[n] and predicted[n] != "depends"]
    assert not wrong, "\n".join(f"line {n}: real {real[n]}, predicted {predicted[n]}" for n in wrong)
