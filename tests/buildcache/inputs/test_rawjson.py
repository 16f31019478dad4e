"""The rawjson reader against real BuildKit logs (Docker 28.5, both image stores), and the simulation of the
very build those logs recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.buildcache.inputs.rawjson import read_rawjson
from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.buildfile.stages import load_dockerfile
from layerscope.errors import FormatError
from tests.buildcache import buildlogs


def test_vertices_merge_by_digest(fixtures_dir: Path) -> None:
    vertices = read_rawjson((fixtures_dir / "modern-docker/build-rebuild.containerd-store.rawjson").read_text())
    names = [v.name for v in vertices]
    assert len(names) == len(set(v.digest for v in vertices))
    link = [v for v in vertices if v.step is not None and v.step[:2] == ("final", 3)]
    assert {v.is_merge for v in link} == {True, False}
    copy = next(v for v in link if not v.is_merge)
    assert copy.cached and copy.progress_group is not None
    workdir = next(v for v in vertices if v.name == "[build 2/5] WORKDIR /src")
    assert workdir.cached and workdir.seconds is not None and workdir.seconds >= 0
    run = next(v for v in vertices if v.name.startswith("[build 4/5] RUN <<EOF"))
    assert not run.cached and run.seconds is not None and run.seconds > 0


def test_not_json_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="rawjson line 2"):
        read_rawjson('{"vertexes": []}\n{"vertexes": [\n')
    assert read_rawjson("WARNING: buildx says something\n") == []


@pytest.mark.parametrize(("store", "fixture"), [("containerd", "containerd-store"), ("overlay2", "default-store")])
def test_simulation_matches_the_recorded_rebuild(fixtures_dir: Path, store: str, fixture: str) -> None:
    demo = fixtures_dir / "modern-docker/demo"
    req = CacheRequest(context=str(demo / "after"), against=str(demo / "before"), target="final", image_store=store)
    sim = simulate_cache(req)
    predicted = {
        s.line: s.status for s in sim.steps if s.status in ("hit", "miss", "depends") and s.instruction != "FROM"
    }
    df = load_dockerfile((demo / "after/Dockerfile").read_text())
    log = (fixtures_dir / f"modern-docker/build-rebuild.{fixture}.rawjson").read_text()
    real = buildlogs.from_rawjson(log, df, {}, "final")
    assert set(real) == set(predicted)
    # `depends`: decided on the bytes a re-run step wrote (the build stage's output changed: they missed)
    assert {n: "miss" if v == "depends" else v for n, v in predicted.items()} == real
    link_copy = next(s for s in sim.steps if s.line == 14)
    assert link_copy.status == ("hit" if store == "containerd" else "depends")  # overlay2: chained on line 13
