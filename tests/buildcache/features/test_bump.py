"""What bumping a package's pin costs (`packages --json` `rebuild`), on an image made in the test with the history
its builder writes: found through the history alone and through the Dockerfile, the pin's place (a requirements
file, the command, another stage, the base image), the figures shared by a step, the split advice, and bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerscope.api import analyze
from layerscope.buildcache.features.bump import package_costs
from layerscope.buildcache.features.pins import BASE_CHANGED, CHANGED, EDITED, Pins, mentions, requirement_lines
from layerscope.buildcache.inputs.rawjson import LINE_LIMIT
from layerscope.buildcache.inputs.whatif import WhatIf
from layerscope.buildcache.request import BuildSpec
from tests.buildcache.bumpcase import PINS, SIZES, STEP_SECONDS, make
from tests.conftest import CliResult

Run = Callable[..., CliResult]


def rebuilds(run_cli: Run, ref: str, *extra: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    r = run_cli("packages", ref, "--json", *extra)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    return {p["name"]: p["rebuild"] for p in doc["packages"]}, doc


def sizes(ref: str, layers: list[int]) -> tuple[int, int]:
    img = analyze(ref).image
    return sum(img.layers[i].size or 0 for i in layers), sum(img.layers[i].compressed_size or 0 for i in layers)


def test_pins_in_requirements_files() -> None:
    assert mentions("torch==2.1\nnumpy\n", "torch") and mentions("Charset_Normalizer>=3", "charset-normalizer")
    assert not mentions("torchvision==0.16\n", "torch") and not mentions("pytorch\n", "torch")
    assert mentions("pip install torch[cuda]==2.1 six", "torch") and mentions("apt-get install -y curl=7.88", "curl")
    text = "six==1.16\nTorch==2.1.0 \\\n    --hash=sha256:ab\nidna\n"
    assert requirement_lines(text, "torch") == ["Torch==2.1.0 \\\n", "    --hash=sha256:ab\n"]
    assert requirement_lines(text, "attrs") == []


def test_where_the_pin_lives(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "reqs").mkdir(parents=True)
    (ctx / "requirements.txt").write_text("requests==2.31\n")
    (ctx / "reqs" / "ml.txt").write_text("torch==2.1\n")
    (ctx / "Dockerfile").write_text(
        "FROM python:3.11 AS build\n"  # 1
        "COPY requirements.txt ./\n"  # 2
        "RUN pip install --prefix=/install -r requirements.txt\n"  # 3
        "FROM python:3.11-slim\n"  # 4
        "COPY --from=build /install /usr/local\n"  # 5
        "RUN pip install uvicorn==0.30 && apt-get install -y curl\n"  # 6
        "RUN --mount=type=bind,source=reqs,target=/r pip install -r /r/ml.txt\n"  # 7
    )
    w = WhatIf(BuildSpec(context=str(ctx)))
    pins = Pins(w)
    final = w.df.stages[1].label
    requests = pins.change((final, 5), "requests")  # COPY --from: the build stage's install reads the file
    assert requests is not None
    assert (requests.kind, requests.values, requests.run) == (CHANGED, ("requirements.txt",), ("build", 3))
    urllib3 = pins.change(("build", 3), "urllib3")  # a dependency no file names: the file it reads
    assert urllib3 is not None and urllib3.kind == CHANGED and "does not name urllib3" in urllib3.what
    uvicorn = pins.change((final, 6), "uvicorn")
    assert uvicorn is not None and (uvicorn.kind, uvicorn.values) == (EDITED, ("6",))
    torch = pins.change((final, 7), "torch")  # read through a bind mount of the context
    assert torch is not None and (torch.kind, torch.values) == (CHANGED, ("reqs/ml.txt",))
    base = pins.change((final, 4), "libc6")
    assert base is not None and (base.kind, base.values) == (BASE_CHANGED, ("python:3.11-slim",))


@pytest.mark.parametrize("flavour", ["buildkit", "classic"])
def test_through_the_history_alone(run_cli: Run, tmp_path: Path, flavour: str) -> None:
    ref, _, _ = make(tmp_path, flavour)
    found, doc = rebuilds(run_cli, ref)
    idna = found["idna"]
    # BuildKit's history names the copied requirements file the install reads; classic's does not
    first = 2 if flavour == "buildkit" else 3
    assert idna["layers"] == list(range(first, 5)) and idna["step_line"] is None
    assert idna["step_text"] == "RUN pip install --no-cache-dir -r requirements.txt"
    assert (idna["bytes"], idna["compressed_bytes"]) == sizes(ref, idna["layers"])
    assert (idna["seconds"], idna["seconds_source"]) == (None, None)
    assert idna["shared_with"] == sorted(set(PINS) - {"idna"})
    assert found["libc6"]["layers"] == [0, 1, 2, 3, 4] and found["libc6"]["shared_with"] == []
    assert any("from the image history alone" in n for n in doc["notes"])


def test_through_the_dockerfile_with_timings(run_cli: Run, tmp_path: Path) -> None:
    ref, ctx, log = make(tmp_path)
    found, _ = rebuilds(run_cli, ref, "--context", str(ctx), "--timings", str(log))
    idna = found["idna"]
    seconds = STEP_SECONDS["COPY requirements.txt ./"] + STEP_SECONDS["RUN"] + STEP_SECONDS["COPY src/ ./src/"]
    assert idna == {
        "step_line": 4,
        "step_text": "RUN pip install --no-cache-dir -r requirements.txt",
        "layers": [2, 3, 4],
        "bytes": sizes(ref, [2, 3, 4])[0],
        "compressed_bytes": sizes(ref, [2, 3, 4])[1],
        "seconds": pytest.approx(seconds, abs=1e-3),
        "seconds_source": "rawjson",
        "shared_with": sorted(set(PINS) - {"idna"}),
        "change": "requirements.txt changed (read by RUN at line 4)",
        "shared_count": len(PINS) - 1,
    }
    for name in PINS:  # one step, one figure
        assert {k: v for k, v in found[name].items() if k != "shared_with"} == {
            k: v for k, v in idna.items() if k != "shared_with"
        }
    libc6 = found["libc6"]  # the base image's: a new base image rebuilds every step
    assert libc6["step_line"] == 1 and libc6["layers"] == [0, 1, 2, 3, 4]
    assert libc6["change"] == "base image sample/base:1 re-published"


def test_classic_history_gives_an_estimate(run_cli: Run, tmp_path: Path) -> None:
    ref, ctx, _ = make(tmp_path, "classic")
    found, _ = rebuilds(run_cli, ref, "--context", str(ctx), "--builder", "classic")
    idna = found["idna"]
    assert idna["layers"] == [2, 3, 4] and idna["seconds_source"] == "history-estimate"
    assert idna["seconds"] == pytest.approx(1 + 20 + 1)  # the gaps between the history's timestamps


def test_split_advice(run_cli: Run, tmp_path: Path) -> None:
    ref, ctx, log = make(tmp_path)
    found, doc = rebuilds(run_cli, ref, "--context", str(ctx), "--timings", str(log))
    [advice] = doc["rebuild_advice"]
    assert (advice["heavy"], advice["others"], advice["step_line"]) == (["torch"], 4, 4)
    torch_bytes = SIZES["torch"] + 100 + len(b"Metadata-Version: 2.1\nName: torch\nVersion: 2.1.0\n")
    assert advice["heavy_bytes"] >= SIZES["torch"]
    before, after = advice["before"], advice["after"]
    assert {**before, "shared_with": []} == {**found["idna"], "shared_with": []}  # one of the others' figure
    assert after["layers"] == [2, 3, 4] and after["step_line"] == 6
    assert after["bytes"] == before["bytes"] - advice["heavy_bytes"] and advice["heavy_bytes"] >= torch_bytes
    assert after["seconds"] == before["seconds"]  # the install's seconds are kept whole: an upper bound
    rest = "idna==3.6\nsix==1.16.0\nattrs==23.2.0\ncertifi==2024.2.2\n"
    assert advice["files"] == {"requirements-torch.txt": "torch==2.1.0\n", "requirements.txt": rest}
    assert advice["dockerfile"].splitlines()[2:6] == [
        "COPY requirements-torch.txt ./",
        "RUN pip install --no-cache-dir -r requirements-torch.txt",
        "COPY requirements.txt ./",
        "RUN pip install --no-cache-dir -r requirements.txt",
    ]
    text = run_cli("packages", ref, "--context", str(ctx), "--timings", str(log)).out
    assert "Costliest bumps" in text and "Split the install at line 4: torch" in text
    row = next(line for line in text.splitlines() if "line 4: RUN pip install" in line)
    assert "20.3 s" in row and row.endswith(" and 2 more (one figure: the same step)")
    assert row.split("requirements.txt")[1].split()[0] == "torch,"  # the heaviest first


def test_library_and_saved_analyses(run_cli: Run, tmp_path: Path) -> None:
    ref, ctx, log = make(tmp_path)
    a = package_costs(analyze(ref), BuildSpec(context=str(ctx), timings=str(log)))
    assert a.packages is not None
    by_name = {p.name: p.rebuild for p in a.packages.packages}
    assert by_name["idna"] is not None and by_name["idna"].layers == (2, 3, 4)
    saved = tmp_path / "saved.json"
    assert run_cli("packages", ref, "--save", str(saved), "-q").code == 0
    again, _ = rebuilds(run_cli, f"analysis:{saved}", "--context", str(ctx), "--timings", str(log))
    assert again["idna"]["layers"] == [2, 3, 4] and again["idna"]["seconds_source"] == "rawjson"


def test_bad_input(run_cli: Run, tmp_path: Path) -> None:
    ref, ctx, log = make(tmp_path)
    r = run_cli("packages", ref, "--timings", str(log))
    assert (r.code, r.out) == (2, "")
    assert r.err == "layerscope: --timings describes the build of --dockerfile: give --dockerfile (or --context) too\n"
    other = tmp_path / "Other.Dockerfile"
    other.write_text("FROM sample/base:1\nRUN make\n")
    r = run_cli("packages", ref, "--dockerfile", str(other), "--context", str(ctx))
    assert r.code == 2 and r.out == "" and len(r.err.splitlines()) == 1
    assert "the image's history does not end with the steps of its target stage" in r.err
    r = run_cli("packages", ref, "--context", str(tmp_path / "missing"))
    assert (r.code, r.err) == (2, f"layerscope: --context {tmp_path / 'missing'}: no such directory\n")


def test_a_step_of_many_packages_lists_a_bounded_share_of_them() -> None:
    """Every package of a step lists at most SHARED_SHOWN of the others, by name, and counts them
    all: listing every other name per package grew with the square of a step's packages."""
    from layerscope.buildcache.features.rebuilds import SHARED_SHOWN, shared_names
    from layerscope.model import Package

    names = [f"pkg{i:05d}" for i in range(2_000)]
    packages = tuple(
        Package(n, "1", "deb", 1, 1, 0, ((0, 1),), "/var/lib/dpkg", 0, "os-packages") for n in reversed(names)
    )
    shared = shared_names(list(range(len(packages))), packages)
    assert len(shared) == len(names)
    for i, (listed, count) in shared.items():
        me = packages[i].name
        assert count == len(names) - 1 and len(listed) == SHARED_SHOWN
        assert list(listed) == [n for n in names if n != me][:SHARED_SHOWN]
    few = shared_names([0, 1, 2], packages)
    assert few[0] == ((packages[2].name, packages[1].name), 2)


def test_a_timings_log_that_never_ends_its_line_is_refused(run_cli: Run, tmp_path: Path) -> None:
    """`packages --rebuild` reads the log as `cache` does: line by line, a line at most LINE_LIMIT bytes (here the
    real log, then 8 GiB of zeros on no disk)."""
    ref, ctx, log = make(tmp_path)
    lines = log.read_bytes().count(b"\n")
    with open(log, "r+b") as fh:
        fh.truncate(log.stat().st_size + (8 << 30))
    r = run_cli("packages", ref, "--context", str(ctx), "--timings", str(log))
    assert (r.code, r.out) == (2, "")
    assert r.err == f"layerscope: --timings {log}: line {lines + 1} is longer than {LINE_LIMIT} bytes\n"
