"""Slow tier: rebuild a rotating sample of the recorded corpus with the live builders and fail when a builder
no longer gives the verdict recorded for it (builders change; the fast tier trusts the recording).

The sample changes every day (LAYERSCOPE_CORPUS_SEED overrides the day; LAYERSCOPE_CORPUS_SAMPLE, default 6,
is the number of scenarios per builder): over the weeks every scenario is rebuilt.
"""

from __future__ import annotations

import datetime
import os
import random
from pathlib import Path

import pytest

from tests.buildcache.differential.compare import runtime_failure
from tests.buildcache.differential.corpus import ENGINES, load_scenarios, load_truth
from tests.buildcache.differential.record import observe
from tests.buildcache.engines import ON_ENGINE, Buildah, DaemonBuilder
from tests.support.dockerd import Engine as SessionEngine

SEED = int(os.environ.get("LAYERSCOPE_CORPUS_SEED", datetime.date.today().toordinal()))
SIZE = int(os.environ.get("LAYERSCOPE_CORPUS_SAMPLE", "6"))
BY_NAME = {s.name: s for s in load_scenarios()}


def sample(engine: str) -> list[str]:
    truth = load_truth(engine)
    names = sorted(
        n for n, rec in truth.items() if n in BY_NAME and "unreadable" not in rec and not runtime_failure(rec)
    )
    return random.Random(f"{SEED}:{engine}").sample(names, min(SIZE, len(names)))


def check(builder: DaemonBuilder | Buildah, name: str, tmp_path: Path) -> None:
    recorded = load_truth(builder.name)[name]
    now = observe(builder, BY_NAME[name], tmp_path)
    keys = ("steps", "error")
    assert {k: now.get(k) for k in keys} == {k: recorded.get(k) for k in keys}, (
        f"{builder.name} no longer builds {name} as recorded: re-record it "
        f"(python -m tests.buildcache.differential.record --engine {builder.name} --ids {name} --redo)\n"
        f"recorded: {recorded}\nnow: {now}"
    )


DAEMON = [pytest.param(e, n, id=f"{e}-{n}") for e in ENGINES if e != "buildah" for n in sample(e)]


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.parametrize(("builder_name", "name"), DAEMON)
def test_recorded_truth_still_holds(builder_name: str, name: str, engine: SessionEngine, tmp_path: Path) -> None:
    if ON_ENGINE[builder_name] != engine.id:
        pytest.skip(f"{builder_name} runs on {ON_ENGINE[builder_name]}, not {engine.id}")
    check(DaemonBuilder(builder_name, engine), name, tmp_path)


@pytest.fixture(scope="module")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Buildah:
    b = Buildah(tmp_path_factory.mktemp("buildah"))
    why_not = b.available()
    if why_not:
        pytest.skip(f"buildah: {why_not}")
    return b


@pytest.mark.slow
@pytest.mark.parametrize("name", sample("buildah"))
def test_recorded_buildah_truth_still_holds(name: str, buildah: Buildah, tmp_path: Path) -> None:
    check(buildah, name, tmp_path)
