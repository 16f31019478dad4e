"""The rawjson reader against real BuildKit logs (Docker 28.5, both image stores), and the simulation of the
very build those logs recorded."""

from __future__ import annotations

import base64
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.buildcache.inputs import rawjson
from layerscope.buildcache.inputs.rawjson import LINE_LIMIT, MAX_VERTICES, load_rawjson, parse_rawjson, read_rawjson
from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.buildfile.stages import load_dockerfile
from layerscope.errors import FormatError
from layerscope.readfile import split_lines
from tests.buildcache import buildlogs
from tests.support.hostile import DATA, Sandbox, assert_refused


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


def test_a_log_that_starts_with_a_bom_keeps_its_first_line(tmp_path: Path) -> None:
    """A UTF-8 BOM (Windows PowerShell's Out-File -Encoding utf8) before the first status: that
    line is JSON too, not buildx's plain text to skip (its vertex had gone missing without a word)."""
    first = '{"vertexes": [{"digest": "sha256:a", "name": "[1/2] FROM x"}]}'
    second = '{"vertexes": [{"digest": "sha256:b", "name": "[2/2] RUN y"}]}'
    log = tmp_path / "bom.rawjson"
    log.write_bytes(("\ufeff" + first + "\r\n" + second + "\r\n").encode())
    assert [v.digest for v in load_rawjson(str(log))] == ["sha256:a", "sha256:b"]
    assert [v.digest for v in read_rawjson("\ufeff" + first + "\n")] == ["sha256:a"]


# --- the log read line by line ------------------------------------------------------------------------------

TIMES = ["2026-11-27T06:34:31.612284843Z", "2026-11-27T06:34:32.5Z", "2026-11-27T06:34:40Z"]
TEXT = st.text(st.sampled_from(["a", " ", "[", "]", "\u2028", "\u2029", "\u0085", "\x0c", "\r", "\n", "é", '"']))
UPDATE = st.fixed_dictionaries(
    {"digest": st.sampled_from(["sha256:a", "sha256:b", "sha256:c"])},
    optional={
        "name": TEXT,
        "cached": st.booleans(),
        "started": st.sampled_from(TIMES),
        "completed": st.sampled_from(TIMES),
        "error": st.one_of(st.none(), TEXT),
        "inputs": st.lists(st.sampled_from(["sha256:a", "sha256:b"]), max_size=2),
    },
)
STATUS = st.one_of(
    st.lists(UPDATE, min_size=1, max_size=3).map(lambda v: {"vertexes": v}),
    TEXT.map(lambda t: {"logs": [{"vertex": "sha256:a", "data": t}], "statuses": [{"id": t}]}),
)


def _expected(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The vertex table as the docs say it: the first appearance orders, the last non-null value of a field wins."""
    table: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for v in doc.get("vertexes", []):
            table.setdefault(v["digest"], {}).update({k: x for k, x in v.items() if x is not None})
    return table


@settings(max_examples=200, deadline=None)
@given(
    st.lists(STATUS, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.booleans(),
    st.lists(st.integers(min_value=0, max_value=2000)),
)
def test_the_log_parses_the_same_wherever_it_is_cut(
    docs: list[dict[str, Any]], newline: str, final: bool, ascii_only: bool, cuts: list[int]
) -> None:
    text = newline.join(json.dumps(d, ensure_ascii=ascii_only) for d in docs) + (newline if final else "")
    data = text.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    got = parse_rawjson(line.decode() for line in split_lines(chunks, LINE_LIMIT, "log"))
    assert got == read_rawjson(text)
    expect = _expected(docs)
    assert [v.digest for v in got] == list(expect)
    for v in got:
        e = expect[v.digest]
        assert (v.name, v.cached, v.started, v.completed) == (
            e.get("name", ""), e.get("cached", False), e.get("started"), e.get("completed"))  # fmt: skip
        assert v.inputs == tuple(e.get("inputs", ())) and v.error == (e.get("error") or None)


def test_only_vertexes_are_kept_of_a_large_log(tmp_path: Path, fixtures_dir: Path) -> None:
    """A real log with ~40 MiB of build output between its lines: the same vertices, read in a few MiB."""
    real = fixtures_dir / "modern-docker/build-cold.containerd-store.rawjson"
    output = base64.b64encode(bytes(range(256)) * 12).decode()  # 3 KiB of a step's output, as BuildKit logs it
    noise = json.dumps({"logs": [{"vertex": "sha256:" + "a" * 64, "stream": 1, "data": output,
                                  "timestamp": TIMES[0]}]}) + "\n"  # fmt: skip
    log = tmp_path / "build.rawjson"
    with open(log, "w", encoding="utf-8") as fh:
        for line in real.read_text().splitlines(keepends=True):
            fh.write(line)
            fh.write(noise * 240)
    size = log.stat().st_size
    assert size > 40 << 20
    tracemalloc.start()
    try:
        vertices = load_rawjson(str(log))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert vertices == read_rawjson(real.read_text()) and len(vertices) > 10
    assert peak < size // 8, f"{peak} bytes at the peak for a log of {size}"  # the whole text had been held


def test_a_log_of_more_vertices_than_a_build_has_is_refused() -> None:
    lines = (json.dumps({"vertexes": [{"digest": f"sha256:{i}-{j}"} for j in range(1000)]}) for i in range(101))
    with pytest.raises(FormatError, match=f"rawjson line 101: more than {MAX_VERTICES} distinct vertices"):
        parse_rawjson(lines)


def test_the_vertex_table_holds_a_bounded_amount_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rawjson, "TABLE_LIMIT", 1 << 20)
    big = "[1/2] RUN " + "x" * (400 << 10)
    again = [json.dumps({"vertexes": [{"digest": "sha256:a", "name": big, "error": big[:1000]}]})] * 50
    (v,) = parse_rawjson(again)  # one vertex updated 50 times: its text counts once
    assert v.name == big
    lines = [json.dumps({"vertexes": [{"digest": f"sha256:{i}", "name": big}]}) for i in range(3)]
    with pytest.raises(FormatError, match="rawjson line 3: the log's vertices hold more than 1 MiB"):
        parse_rawjson(lines)


def test_a_many_input_vertex_updated_again_and_again_is_read_in_linear_time(tmp_path: Path) -> None:
    """A vertex of a million inputs (5 MB, within TABLE_LIMIT), then a line of ~560,000 updates
    to it: the table's size had been re-summed over every input at each update (10^12 steps, a
    hang of hours for 13 MB of log). The timeout is a bound on the hang, not a measurement."""
    box, args = _cache_box(tmp_path)
    log = box.inputs / "many-inputs.rawjson"
    update = b'{"digest":"sha256:a"},'
    again = b'{"vertexes":[' + update * ((LINE_LIMIT - 100) // len(update)) + b'{"digest":"sha256:a"}]}\n'
    log.write_bytes(
        json.dumps({"vertexes": [{"digest": "sha256:a", "inputs": ["x"] * 1_000_000}]}).encode() + b"\n" + again
    )
    r = box.run(*args, str(log), timeout=300)
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert "a.txt" in r.out  # the simulation ran to its report: the log was read whole


def _cache_box(tmp_path: Path) -> tuple[Sandbox, list[str]]:
    return _cache_box_in(Sandbox(tmp_path / "box"))


def _cache_box_in(box: Sandbox) -> tuple[Sandbox, list[str]]:
    ctx = box.inputs / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY a.txt /a\n")
    (ctx / "a.txt").write_text("a")
    return box, ["cache", "--context", str(ctx), "--changed", "a.txt", "--timings"]


def test_a_log_line_without_end_is_refused_through_the_cli(tmp_path: Path) -> None:
    """A log with no newline (here 8 GiB of zeros after its first line, on no disk) is refused at
    LINE_LIMIT bytes of its second line, not read into memory: the old 512 MiB cap read it all."""
    box, args = _cache_box(tmp_path)
    log = box.inputs / "endless.rawjson"
    with open(log, "wb") as fh:
        fh.write(b'{"vertexes": []}\n')
        fh.truncate(8 << 30)
    line = assert_refused(box.run(*args, str(log), timeout=120), f"line 2 is longer than {LINE_LIMIT} bytes")
    assert str(log) in line


def test_a_log_that_is_not_utf8_is_refused_through_the_cli(tmp_path: Path) -> None:
    box, args = _cache_box(tmp_path)
    log = box.inputs / "latin1.rawjson"
    log.write_bytes(b'{"vertexes": []}\n{"logs": [{"data": "caf\xe9"}]}\n')
    assert_refused(box.run(*args, str(log)), "is not UTF-8 text (line 2, byte 40)")


def test_the_costliest_line_parses_within_a_memory_ceiling(tmp_path: Path) -> None:
    """A line just under LINE_LIMIT of the values json.loads builds dearest (an empty list for every 3 bytes,
    ~20 bytes of objects per byte) is parsed and dropped by `cache --timings` in 512 MiB of heap (160 MiB is
    too little: the bound on a line is what bounds this)."""
    box = Sandbox(tmp_path / "box", DATA)
    _, args = _cache_box_in(box)
    log = box.inputs / "tiny-values.rawjson"
    head, tail = b'{"statuses": [', b"[]]}\n"
    log.write_bytes(head + b"[]," * ((LINE_LIMIT - len(head) - len(tail)) // 3) + tail)
    r = box.run(*args, str(log), "--json", timeout=120)
    assert r.code == 0, r.err[-2000:]
    assert [s["status"] for s in json.loads(r.out)["steps"]] == ["hit", "miss"]  # the log timed no step
