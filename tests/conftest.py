"""Shared test helpers: running the CLI as a user does, and the repository's paths."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Third-party test inputs (dive's images, syft's package databases, Docker 28.5 saves and
# BuildKit logs), vendored with their licences: tests/fixtures/README.md.
FIXTURES = REPO / "tests" / "fixtures"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def _run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, stdin: str | None = None
) -> CliResult:
    """Run `python -m layerscope ARGS` from this checkout in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    p = subprocess.run(
        [sys.executable, "-m", "layerscope", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        input=stdin,
        cwd=str(REPO),
    )
    return CliResult(p.returncode, p.stdout, p.stderr)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the user's cache: every run gets its own LAYERSCOPE_CACHE_DIR."""
    os.environ["LAYERSCOPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("layerscope-cache"))


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    return _run_cli


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


pytest_plugins = ["tests.engines"]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Wheels of small local projects, built once per session by pip (setuptools, offline)."""
    from tests.support.pyinstall import make_wheels

    return make_wheels(tmp_path_factory.mktemp("pywheels"))
