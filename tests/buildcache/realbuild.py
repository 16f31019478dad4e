"""Real builds for the cost, replay and advice tests, on the session's engines (tests/engines.py `engine`).

BuildKit builds print rawjson progress on Docker 28.5 and plain progress on 20.10; classic builds run with
DOCKER_BUILDKIT=0 (still there in 28.5, deprecated). They run on docker-28.5-containerd by default; the other
engines are `slow` (LAYERSCOPE_SLOW=1). The built image is read back with layerscope from `docker save`.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from layerscope.api import open_image
from layerscope.buildcache.inputs.rawjson import STEP_NAME, read_rawjson
from layerscope.model import Image
from tests.engines import BASE_IMAGE
from tests.support.dockerd import Engine

DEFAULT_ENGINE = "docker-28.5-containerd"
ENGINE_IDS = ("docker-28.5-containerd", "docker-28.5-overlay2", "docker-20.10")
ENGINE_CASES = [
    pytest.param(e, marks=[] if e == DEFAULT_ENGINE else [pytest.mark.slow], id=e) for e in ENGINE_IDS
]  # fmt: skip
BASE = BASE_IMAGE  # imported into every session engine


def skip_other_engines(engine: Engine, wanted: str) -> None:
    if engine.id != wanted:
        pytest.skip(f"this case runs on {wanted}, not {engine.id}")


@dataclass
class Built:
    tag: str
    log: str
    wall: float  # seconds the build command took
    archive: Path
    image: Image

    @property
    def diff_ids(self) -> list[str]:
        return [x.diff_id for x in self.image.layers]

    @property
    def ref(self) -> str:
        return f"docker-daemon:{self.tag}"


def build(engine: Engine, ctx: Path, tag: str, out: Path, classic: bool = False) -> Built:
    """Build `ctx` as `tag`; the log (rawjson on Docker 28.5's BuildKit), and the image as layerscope reads it."""
    if classic:
        cmd = [engine.cli, "build", "-t", tag, str(ctx)]
    elif engine.spec.modern:
        cmd = [engine.cli, "buildx", "build", "--progress=rawjson", "-t", tag, str(ctx)]
    else:
        cmd = [engine.cli, "build", "--progress=plain", "-t", tag, str(ctx)]
    env = {**engine.client_env(), "DOCKER_BUILDKIT": "0" if classic else "1"}
    start = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
    wall = time.monotonic() - start
    log = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{log[-3000:]}"
    archive = engine.save(tag, out / (tag.replace(":", "_").replace("/", "_") + ".tar"))
    return Built(tag, log, wall, archive, open_image(f"docker-archive:{archive}"))


def fresh_cache(engine: Engine) -> None:
    engine.docker("builder", "prune", "-af")


def executed_seconds(rawjson: str) -> float:
    """What a logged build spent in the steps it executed (FROM resolves on every build: left out)."""
    total = 0.0
    for v in read_rawjson(rawjson):
        m = STEP_NAME.match(v.name)
        if m is None or v.cached or m.group("text").startswith("FROM ") or v.seconds is None:
            continue
        total += v.seconds
    return total


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
    return root


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env).stdout


def export(repo: Path, rev: str, dest: Path) -> Path:
    """A commit's files without .git (what a CI checkout builds)."""
    dest.mkdir(parents=True)
    tar = subprocess.run(["git", "-C", str(repo), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest
