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
    assert read_rawjson("WARNING: buildx says something\n") == ()


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


@pytest.mark.parametrize(
    ("line", "expect"),
    [
        ('{"vertexes": [1]}', "line 1: vertexes is not a list of objects"),
        ('{"vertexes": 5}', "line 1: vertexes is not a list of objects"),
        ('{"vertexes": [{"digest": "x", "inputs": 7}]}', "vertex 'x' has inputs that are not a list"),
        ('{"vertexes": [{"digest": "x", "started": "garbage"}]}', "vertex 'x': started is not a time: 'garbage'"),
        ('{"vertexes": [{"digest": "x", "completed": 12}]}', "vertex 'x': completed is not a time: 12"),
    ],
)
def test_a_log_of_the_wrong_shape_is_one_format_error(line: str, expect: str) -> None:
    """Each had been an AttributeError, TypeError or ValueError: exit 3 from `cache --timings`."""
    with pytest.raises(FormatError, match=expect):
        read_rawjson(line + "\n")


def test_a_step_number_of_thousands_of_digits_is_no_step() -> None:
    (v,) = read_rawjson('{"vertexes": [{"digest": "x", "name": "[1/' + "9" * 5000 + '] RUN x"}]}\n')
    assert v.step is None  # int() of it had raised ValueError
    (w,) = read_rawjson('{"vertexes": [{"digest": "y", "name": "[stage-0 2/3] RUN x"}]}\n')
    assert w.step == ("stage-0", 2, 3, "RUN x")


def test_cache_timings_of_the_wrong_shape_through_the_cli(tmp_path: Path) -> None:
    from tests.support.hostile import Sandbox, assert_refused

    box = Sandbox(tmp_path / "box")
    ctx = box.inputs / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY a.txt /a\n")
    (ctx / "a.txt").write_text("a")
    log = box.inputs / "timings.json"
    log.write_text('{"vertexes": [{"digest": "x", "started": "garbage"}]}\n')
    r = box.run("cache", "--context", str(ctx), "--changed", "a.txt", "--timings", str(log))
    assert_refused(r, "started is not a time")


def test_only_a_newline_ends_a_line() -> None:
    """Go's encoder writes U+0085 (and a form feed's neighbours) raw inside strings; splitlines()
    had cut the line there and called it not JSON."""
    line = '{"vertexes": [{"digest": "x", "name": "[1/2] RUN echo \u0085\u2028"}]}'
    (v,) = read_rawjson(line + "\r\n" + line + "\n")
    assert v.step == (None, 1, 2, "RUN echo \u0085\u2028")
