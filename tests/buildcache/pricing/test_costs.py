"""Costs of a change: the layers and bytes the missed steps produce in the image of the last build, and their
seconds from a BuildKit rawjson log or a classic image's history. Checked on crafted images, on the recorded
rawjson fixtures, and against real rebuilds (the layers whose diff_id changed, the rebuild's own log).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerscope.buildcache.inputs.rawjson import read_rawjson
from layerscope.buildcache.pricing.image_history import (
    align_chain,
    history_seconds,
    parse_created_by,
    run_text_agrees,
    target_chain,
)
from layerscope.buildfile.stages import load_dockerfile
from layerscope.model import HistoryEntry
from tests.buildcache.realbuild import (
    BASE,
    ENGINE_CASES,
    Built,
    build,
    executed_seconds,
    fresh_cache,
    skip_other_engines,
    write_tree,
)
from tests.conftest import CliResult
from tests.support.dockerd import Engine
from tests.support.factory import ImageSpec

Run = Callable[..., CliResult]
BK = "buildkit.dockerfile.v0"


def layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_created_by_formats() -> None:
    cases = [
        ("RUN /bin/sh -c make # buildkit", BK, "RUN", "buildkit"),
        ("COPY . . # buildkit", BK, "COPY", "buildkit"),
        ("ENV A=1", BK, "ENV", "buildkit"),
        ("/bin/sh -c #(nop)  ENV A=1", None, "ENV", "nop"),
        ("/bin/sh -c #(nop) COPY file:3a4f in /app ", None, "COPY", "nop"),
        ("|1 V=2 /bin/sh -c make", None, "RUN", "nop"),
        (None, "Imported from -", "", ""),
    ]
    for created_by, comment, keyword, flavour in cases:
        step = parse_created_by(created_by, comment)
        assert (step.keyword, step.flavour) == (keyword, flavour), created_by
    run = load_dockerfile("FROM x\nRUN make  all\n").stages[0].instructions[0]
    assert run_text_agrees(parse_created_by("|1 V=2 /bin/sh -c make all", None), run)
    assert run_text_agrees(parse_created_by("RUN |1 V=2 /bin/sh -c make all # buildkit", BK), run)
    assert not run_text_agrees(parse_created_by("RUN /bin/sh -c make test # buildkit", BK), run)


def test_history_alignment_and_estimate() -> None:
    df = load_dockerfile("FROM base AS a\nONBUILD RUN x\nFROM a\nCOPY f /f\nRUN y\nENV E=1\n")
    chain = target_chain(df, None, {})
    assert [(c.keyword, c.line) for c in chain] == [("FROM", 1), ("ONBUILD", 2), ("RUN", 2), ("COPY", 4),
                                                    ("RUN", 5), ("ENV", 6)]  # fmt: skip

    def h(i: int, created_by: str | None, t: str, empty: bool = False) -> HistoryEntry:
        return HistoryEntry(i, f"2024-05-01T10:00:{t}Z", created_by, None, None, empty, None if empty else i)

    history = (
        h(0, None, "00"),
        h(1, "/bin/sh -c x", "01.5"),  # the trigger; classic also records the ONBUILD (not here: skipped)
        h(2, "/bin/sh -c #(nop) COPY file:ab in /f ", "02"),
        h(3, "/bin/sh -c y", "04.25"),
        h(4, "/bin/sh -c #(nop)  ENV E=1", "04.5", empty=True),
    )
    al = align_chain(history, chain)
    assert al is not None and al.base_end == 1 and al.root == ("a", 1) and al.text_matches == 2
    assert al.entries == {("stage-1", 2): 1, ("stage-1", 4): 2, ("stage-1", 5): 3, ("stage-1", 6): 4}
    assert history_seconds(history, al) == {("stage-1", 4): 0.5, ("stage-1", 5): 2.25, ("stage-1", 6): 0.25}
    assert align_chain(history[:3], chain) is None  # fewer entries than steps: not this Dockerfile's image


DF = f"""\
FROM {BASE}
WORKDIR /app
COPY requirements.txt ./
RUN sort requirements.txt > deps.txt
COPY src/ ./src/
ENV MODE=prod
CMD ["/bin/sh"]
"""
BEFORE = {"requirements.txt": "flask\n", "src/a.py": "print(1)\n", "docs/x.md": "x\n"}


def crafted(tmp_path: Path, history: list[dict[str, Any]], layers: list[bytes]) -> str:
    path = ImageSpec(layers, history).docker_archive(str(tmp_path / "image.tar"))
    return f"docker-archive:{path}"


def buildkit_history() -> tuple[list[dict[str, Any]], list[bytes]]:
    layers = [
        layer({"bin/sh": b"#" * 1000}),
        layer({}),
        layer({"app/requirements.txt": b"flask\n"}),
        layer({"app/deps.txt": b"d" * 300}),
        layer({"app/src/a.py": b"print(1)\n"}),
    ]
    history = [
        {"created": "2024-05-01T10:00:00Z", "comment": "Imported from -"},
        {"created": "2024-05-01T10:01:00Z", "created_by": "WORKDIR /app", "comment": BK},
        {"created": "2024-05-01T10:01:01Z", "created_by": "COPY requirements.txt ./ # buildkit", "comment": BK},
        {"created": "2024-05-01T10:01:09Z", "created_by": "RUN /bin/sh -c sort requirements.txt > deps.txt # buildkit",
         "comment": BK},
        {"created": "2024-05-01T10:01:10Z", "created_by": "COPY src/ ./src/ # buildkit", "comment": BK},
        {"created": "2024-05-01T10:01:10Z", "created_by": "ENV MODE=prod", "comment": BK, "empty_layer": True},
        {"created": "2024-05-01T10:01:10Z", "created_by": 'CMD ["/bin/sh"]', "comment": BK, "empty_layer": True},
    ]  # fmt: skip
    return history, layers


def contexts(tmp_path: Path, after: dict[str, str]) -> tuple[Path, Path]:
    old = write_tree(tmp_path / "before", {**BEFORE, "Dockerfile": DF})
    new = write_tree(tmp_path / "after", {**BEFORE, **after, "Dockerfile": DF})
    return old, new


def test_image_layers_give_rebuilt_bytes(run_cli: Run, tmp_path: Path) -> None:
    old, new = contexts(tmp_path, {"requirements.txt": "django\n"})
    history, layers = buildkit_history()
    ref = crafted(tmp_path, history, layers)
    r = run_cli("cache", "--context", str(new), "--against", str(old), "--image", ref, "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    steps = {s["line"]: s for s in doc["steps"]}
    assert [steps[n]["layers"] for n in range(1, 8)] == [[0], [1], [2], [3], [4], [], []]
    assert [steps[n]["bytes"] for n in (3, 4, 5)] == [6, 300, 9]
    assert all(s["seconds"] is None for s in doc["steps"])  # BuildKit history times are no durations
    tars = [len(x) for x in layers]  # a legacy `docker save` stores layers uncompressed: the tar's length
    assert doc["summary"] == {
        "first_miss": 3, "missed_steps": 3, "depends_steps": 0, "rebuilt_layers": 3, "rebuilt_bytes": 315,
        "rebuilt_compressed_bytes": sum(tars[2:5]), "estimated_seconds": None, "seconds_source": None,
    }  # fmt: skip
    text = run_cli("cache", "--context", str(new), "--against", str(old), "--image", ref).out
    assert "rebuilds 3 layer(s), 315 B" in text and "measured on the last build's layers" in text
    assert "s to rebuild" not in text and "time unknown" in text  # no timing source: no seconds invented


def test_image_of_another_dockerfile_is_refused(run_cli: Run, tmp_path: Path) -> None:
    old, new = contexts(tmp_path, {"src/a.py": "print(2)\n"})
    history, layers = buildkit_history()
    history[3]["created_by"] = "COPY other ./ # buildkit"
    r = run_cli("cache", "--context", str(new), "--against", str(old), "--image", crafted(tmp_path, history, layers))
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1
    assert "history does not end with the steps of this Dockerfile" in r.err


def test_classic_history_gives_an_estimate(run_cli: Run, tmp_path: Path) -> None:
    old, new = contexts(tmp_path, {"src/a.py": "print(2)\n"})
    _, layers = buildkit_history()
    times = ["10:00:00", "10:01:00", "10:01:01", "10:01:09.5", "10:01:10.25", "10:01:10.5", "10:01:10.75"]
    made = ["WORKDIR /app", "COPY file:1 in ./ ", None, "COPY dir:2 in ./src/ ", " ENV MODE=prod", ' CMD ["/bin/sh"]']
    history: list[dict[str, Any]] = [{"created": f"2024-05-01T{times[0]}Z", "comment": "Imported from -"}]
    for t, cb in zip(times[1:], made, strict=True):
        text = "/bin/sh -c sort requirements.txt > deps.txt" if cb is None else "/bin/sh -c #(nop) " + cb
        history.append(
            {"created": f"2024-05-01T{t}Z", "created_by": text, "empty_layer": "ENV" in text or "CMD" in text}
        )
    ref = crafted(tmp_path, history, layers)
    r = run_cli("cache", "--context", str(new), "--against", str(old), "--image", ref, "--builder", "classic", "--json")
    doc = json.loads(r.out)
    assert {s["line"]: s["seconds"] for s in doc["steps"]} == {1: None, 2: None, 3: 1.0, 4: 8.5, 5: 0.75, 6: 0.25,
                                                                7: 0.25}  # fmt: skip
    assert doc["summary"]["estimated_seconds"] == 1.25 and doc["summary"]["seconds_source"] == "history-estimate"
    assert doc["summary"]["rebuilt_layers"] == 1 and doc["summary"]["rebuilt_bytes"] == 9
    text = run_cli("cache", "--context", str(new), "--against", str(old), "--image", ref, "--builder", "classic").out
    assert "about 1.2 s to rebuild (rough estimate: gaps between the image's history timestamps)" in text


def test_rawjson_durations_of_the_missed_steps(run_cli: Run, fixtures_dir: Path) -> None:
    demo = fixtures_dir / "modern-docker/demo"
    log = fixtures_dir / "modern-docker/build-cold.containerd-store.rawjson"
    r = run_cli("cache", "--context", str(demo / "after"), "--against", str(demo / "before"), "--target", "final",
                "--timings", str(log), "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    took = {v.name: v.seconds or 0.0 for v in read_rawjson(log.read_text())}
    steps = {s["line"]: s for s in doc["steps"]}
    run4 = next(t for n, t in took.items() if n.startswith("[build 4/5] RUN <<EOF"))
    assert steps[4]["seconds"] == pytest.approx(run4, abs=1e-3)
    link = [t for n, t in took.items() if n.startswith(("[final 2/4] COPY --link", "[final 2/4] LINK COPY"))]
    assert len(link) == 2 and steps[13]["seconds"] == pytest.approx(sum(link), abs=1e-3)  # copy + merge
    missed = [s for s in doc["steps"] if s["status"] == "miss"]
    assert {s["line"] for s in missed} == {3, 4, 10}
    # the COPY --from of the re-run stage and the RUN after it: decided on the bytes the re-run writes
    assert {s["line"] for s in doc["steps"] if s["status"] == "depends"} == {13, 15}
    assert doc["summary"]["estimated_seconds"] == pytest.approx(sum(s["seconds"] for s in missed), abs=5e-3)
    assert doc["summary"]["seconds_source"] == "rawjson" and doc["summary"]["rebuilt_bytes"] is None
    assert steps[16]["seconds"] is None and steps[19]["status"] == "skipped"


# --- real builds ------------------------------------------------------------------------------------------

REAL_DF = f"""\
FROM {BASE} AS deps
WORKDIR /w
COPY requirements.txt ./
RUN sleep 1 && sort requirements.txt > deps.txt

FROM {BASE}
WORKDIR /app
COPY --from=deps /w/deps.txt ./
RUN dd if=/dev/zero of=/app/deps.bin bs=1024 count=200 2>/dev/null && cat deps.txt >> deps.bin
COPY src/ ./src/
RUN sleep 1 && cat src/*.py > /app/build.txt
ENV MODE=prod
CMD ["/bin/sh"]
"""
# each change keeps the file sizes, so the last build's layer sizes are the rebuild's too
REAL_V1 = {"Dockerfile": REAL_DF, "requirements.txt": "flask\nrequests\n", "src/a.py": "print(1)\n"}
REAL_V2 = {**REAL_V1, "src/a.py": "print(2)\n"}
REAL_V3 = {**REAL_V2, "requirements.txt": "flask\nrequestz\n"}


@pytest.fixture(scope="module")
def buildkit_builds(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("costs-buildkit")
    fresh_cache(engine)
    ctx = {n: write_tree(out / n, files) for n, files in (("v1", REAL_V1), ("v2", REAL_V2), ("v3", REAL_V3))}
    built = {n: build(engine, ctx[n], f"costs/bk:{n}", out) for n in ctx}
    (out / "cold.rawjson").write_text(built["v1"].log)
    return {"ctx": ctx, "built": built, "cold_log": out / "cold.rawjson"}


def changed_layers(a: Built, b: Built) -> list[int]:
    assert len(a.diff_ids) == len(b.diff_ids)
    return [i for i, (x, y) in enumerate(zip(a.diff_ids, b.diff_ids, strict=True)) if x != y]


def predict(run_cli: Run, engine: Engine, ctx: Path, against: Path, image: Built, *extra: str) -> dict[str, Any]:
    r = run_cli("cache", "--context", str(ctx), "--against", str(against), "--image", image.ref, *extra, "--json",
                env=engine.env)  # fmt: skip
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(r.out)
    return doc


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
@pytest.mark.parametrize(("old", "new", "missed"), [("v1", "v2", {10, 11}), ("v2", "v3", {3, 4, 8, 9, 10, 11})])
def test_buildkit_costs_match_the_rebuild(
    run_cli: Run, engine: Engine, engine_id: str, request: pytest.FixtureRequest, old: str, new: str, missed: set[int]
) -> None:
    skip_other_engines(engine, engine_id)
    builds = request.getfixturevalue("buildkit_builds")
    before, after = builds["built"][old], builds["built"][new]
    timings = ("--timings", str(builds["cold_log"])) if engine.spec.modern else ()
    doc = predict(run_cli, engine, builds["ctx"][new], builds["ctx"][old], before, *timings)
    assert {s["line"] for s in doc["steps"] if s["status"] == "miss"} == missed
    changed = changed_layers(before, after)
    predicted = sorted({i for s in doc["steps"] if s["status"] == "miss" for i in s["layers"] or ()})
    assert predicted == changed and doc["summary"]["rebuilt_layers"] == len(changed)
    sizes = {i: (x.size, x.compressed_size) for i, x in enumerate(before.image.layers)}
    assert doc["summary"]["rebuilt_bytes"] == sum(sizes[i][0] or 0 for i in changed)
    assert doc["summary"]["rebuilt_bytes"] == sum(after.image.layers[i].size or 0 for i in changed)  # sizes kept
    assert doc["summary"]["rebuilt_compressed_bytes"] == sum(sizes[i][1] or 0 for i in changed)
    if not engine.spec.modern:  # no rawjson on 20.10, and BuildKit's history times are no durations
        assert doc["summary"]["estimated_seconds"] is None and doc["summary"]["seconds_source"] is None
        return
    real = executed_seconds(after.log)
    assert doc["summary"]["seconds_source"] == "rawjson"
    assert doc["summary"]["estimated_seconds"] == pytest.approx(real, abs=0.3 + 0.25 * real)


CLASSIC_DF = f"""\
FROM {BASE}
WORKDIR /app
COPY requirements.txt ./
RUN dd if=/dev/zero of=/app/deps.bin bs=1024 count=200 2>/dev/null && cat requirements.txt >> deps.bin
COPY src/ ./src/
RUN sleep 1 && cat src/*.py > /app/build.txt
ENV MODE=prod
CMD ["/bin/sh"]
"""


@pytest.fixture(scope="module")
def classic_builds(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("costs-classic")
    files = {**REAL_V1, "Dockerfile": CLASSIC_DF}
    ctx1 = write_tree(out / "v1", files)
    ctx2 = write_tree(out / "v2", {**files, "src/a.py": "print(2)\n"})
    return {"ctx": (ctx1, ctx2), "built": [build(engine, c, f"costs/classic:{c.name}", out, classic=True)
                                           for c in (ctx1, ctx2)]}  # fmt: skip


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
def test_classic_costs_from_history_timestamps(
    run_cli: Run, engine: Engine, engine_id: str, request: pytest.FixtureRequest
) -> None:
    skip_other_engines(engine, engine_id)
    builds = request.getfixturevalue("classic_builds")
    (ctx1, ctx2), (v1, v2) = builds["ctx"], builds["built"]
    doc = predict(run_cli, engine, ctx2, ctx1, v1, "--builder", "classic")
    changed = changed_layers(v1, v2)
    assert sorted({i for s in doc["steps"] if s["status"] == "miss" for i in s["layers"] or ()}) == changed
    assert doc["summary"]["rebuilt_bytes"] == sum(v1.image.layers[i].size or 0 for i in changed)
    # the missed steps: COPY src/, RUN sleep 1 (...), ENV, CMD; the estimate holds the sleep, not more than the
    # whole rebuild took
    assert doc["summary"]["seconds_source"] == "history-estimate"
    assert 1.0 <= doc["summary"]["estimated_seconds"] <= v2.wall + 0.5
    r = run_cli("cache", "--context", str(ctx2), "--against", str(ctx1), "--image", v1.ref, "--builder", "classic",
                env=engine.env)  # fmt: skip
    assert "rough estimate: gaps between the image's history timestamps" in r.out
