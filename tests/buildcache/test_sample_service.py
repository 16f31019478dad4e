"""The README's `cache` and per-package rebuild examples (tests/test_docs.py checks the lines it shows), on
sample_images/service as a clone has it: the Dockerfiles take named build contexts (`wheels`, `build-tools`,
`site-packages`) that sample_images/build.sh makes and the clone does not hold; without them the names are
images (as the builders take them), with notes; with them (here: directories like build.sh's) a change in one
is followed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.buildcache.scenario import write_files
from tests.conftest import REPO, CliResult

Run = Callable[..., CliResult]
SAMPLES = REPO / "sample_images"
SERVICE = SAMPLES / "service"
CONTEXTS = ("wheels", "build-tools", "site-packages")


def steps(out: str) -> dict[int, str]:
    return {s["line"]: s["status"] for s in json.loads(out)["steps"]}


@pytest.mark.parametrize("dockerfile", ["Dockerfile.fat", "Dockerfile.slim"])
def test_cache_runs_on_the_sample_dockerfiles(run_cli: Run, dockerfile: str) -> None:
    r = run_cli("cache", "--context", str(SERVICE), "-f", str(SERVICE / dockerfile),
                "--changed", "agent_service/agent.py", "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    for name in CONTEXTS:
        assert any(f"--from={name} (line" in n for n in doc["notes"]), name
    got = steps(r.out)
    if dockerfile == "Dockerfile.fat":  # COPY . /app/ and the chown after it; the contexts' COPYs hit
        assert {n for n, s in got.items() if s == "miss"} == {25, 27}
        assert got[17] == got[19] == got[21] == "hit"
    else:  # the app's COPY in build, its COPY --from=build into the final stage and WORKDIR after it
        assert {n for n, s in got.items() if s == "miss"} == {9, 20, 21}
        assert got[19] == "hit"


@pytest.mark.parametrize("dockerfile", ["Dockerfile.fat", "Dockerfile.slim"])
def test_cache_follows_a_change_in_a_named_context(run_cli: Run, tmp_path: Path, dockerfile: str) -> None:
    for name in CONTEXTS:
        write_files(tmp_path / name, {"usr/local/lib/python3.11/site-packages/x/__init__.py": f"# {name}\n"})
    flags = [a for name in CONTEXTS for a in ("--build-context", f"{name}={tmp_path / name}")]
    changed = str(tmp_path / "site-packages/usr/local/lib/python3.11/site-packages/x/__init__.py")
    r = run_cli("cache", "--context", str(SERVICE), "-f", str(SERVICE / dockerfile), *flags,
                "--changed", changed, "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert not any("no stage and no --build-context" in n for n in doc["notes"])
    copy = next(s for s in doc["steps"] if s["text"].startswith("COPY --from=site-packages"))
    assert copy["status"] == "miss"
    assert copy["cause"] == {
        "kind": "file",
        "name": "site-packages:usr/local/lib/python3.11/site-packages/x/__init__.py",
    }
    wheels = next(s for s in doc["steps"] if s["text"].startswith("COPY --from=wheels"))
    assert wheels["status"] == "hit"


@pytest.mark.parametrize(
    ("image", "dockerfile", "line"), [("fat", "Dockerfile.fat", 21), ("slim", "Dockerfile.slim", 19)]
)
def test_packages_rebuild_on_the_sample_images(run_cli: Run, image: str, dockerfile: str, line: int) -> None:
    r = run_cli("packages", str(SAMPLES / f"{image}.docker.tar"), "--dockerfile", str(SERVICE / dockerfile),
                "--context", str(SERVICE), "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    requests = next(p for p in doc["packages"] if p["name"] == "requests")
    rebuild = requests["rebuild"]
    assert rebuild["step_line"] == line
    # the wheels are installed outside the build: the site-packages context (an image without --build-context)
    assert rebuild["change"] == "image site-packages re-published"
    assert rebuild["bytes"] > 0 and rebuild["layers"]
    assert any("--from=site-packages (line" in n for n in doc["notes"])
    r = run_cli("packages", str(SAMPLES / f"{image}.docker.tar"), "--dockerfile", str(SERVICE / dockerfile),
                "--context", str(SERVICE))  # fmt: skip
    assert r.code == 0 and "Costliest bumps" in r.out
