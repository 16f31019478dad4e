"""The GitHub Action (action.yml): its step script run as the runner runs it, and the action's wiring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "action-check.sh"
FAT = REPO / "sample_images" / "fat.docker.tar"
CONFIG = """\
[images.api]
max-layers = 3
max-size = "1 GB"
require-healthcheck = { limit = true, level = "warn" }
"""


def run_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The step as a runner runs it: GITHUB_* files created empty, inputs in the environment."""
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    summary.touch()
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "LAYERSCOPE_VERSION": "installed",  # this checkout, by PYTHONPATH: no pip install in tests
        "LAYERSCOPE_PYTHON": sys.executable,
        "LAYERSCOPE_ACTION_PATH": str(REPO),
        "PYTHONPATH": str(REPO),
        **{f"LAYERSCOPE_{k.upper()}": v for k, v in inputs.items()},
    }
    p = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return p, output, summary


def test_a_failing_budget_fails_the_step_with_annotations_summary_and_verdict(tmp_path: Path) -> None:
    (tmp_path / ".layerscope.toml").write_text(CONFIG)
    p, output, summary = run_step(
        tmp_path, image=f"docker-archive:{FAT}", config=".layerscope.toml", args="--image api", junit="budget.xml"
    )
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert "::error title=layerscope api max-layers::8 layers, 5 over (limit 3, .layerscope.toml [images.api])" in lines
    assert any(x.startswith("::warning title=layerscope api require-healthcheck::no HEALTHCHECK") for x in lines)
    assert not any(x.startswith("::") and "max-size" in x for x in lines)  # a pass is no annotation
    assert output.read_text() == "verdict=fail\n"
    md = summary.read_text()
    assert md.startswith("## layerscope check: ❌ budget exceeded")
    assert "| FAIL | `max-layers` | 8 layers, 5 over" in md and "| PASS | `max-size` |" in md
    assert '<failure message="8 layers, 5 over' in (tmp_path / "budget.xml").read_text()


def test_a_passing_budget_passes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.layerscope.defaults]\nmax-layers = 10\n")
    p, output, summary = run_step(tmp_path, image=str(FAT))  # the config is found from the working directory
    assert p.returncode == 0, p.stderr
    assert output.read_text() == "verdict=pass\n"
    assert summary.read_text().startswith("## layerscope check: ✅ within budget")
    assert "  PASS  max-layers: 8 layers" in p.stdout and "::error" not in p.stdout


def test_bad_input_is_an_error_verdict(tmp_path: Path) -> None:
    p, output, _ = run_step(tmp_path, image=str(tmp_path / "missing.tar"))
    assert p.returncode == 2
    assert output.read_text() == "verdict=error\n"
    assert p.stderr.startswith("layerscope: ") and "Traceback" not in p.stderr


def test_extra_args_are_words_not_shell(tmp_path: Path) -> None:
    """args is split on whitespace only: `$(...)` reaches check as an argument, it is never run."""
    marker = tmp_path / "ran"
    p, output, _ = run_step(tmp_path, image=str(FAT), args=f"--image $(touch {marker})")
    assert p.returncode == 2 and not marker.exists()
    assert output.read_text() == "verdict=error\n"


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "action.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_the_composite_step_runs_the_script_with_every_input(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    (step,) = [s for s in steps if "action-check.sh" in s.get("run", "")]
    assert step["shell"] == "bash"
    assert step["run"] == 'bash "$GITHUB_ACTION_PATH/scripts/action-check.sh"'
    # Every input reaches the script through the environment, under the name the script reads;
    # none is pasted into the command line (where a value could become shell code).
    script = SCRIPT.read_text()
    for name in ("image", "config", "version", "args", "junit"):
        var = f"LAYERSCOPE_{name.upper()}"
        assert step["env"][var] == f"${{{{ inputs.{name} }}}}"
        assert var in script
        assert "inputs." not in step["run"]
    assert step["env"]["LAYERSCOPE_ACTION_PATH"] == "${{ github.action_path }}"
    assert set(action["inputs"]) == {"image", "config", "version", "args", "junit", "python-version"}
    assert action["outputs"]["verdict"]["value"] == f"${{{{ steps.{step['id']}.outputs.verdict }}}}"
    (setup,) = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    assert steps.index(setup) < steps.index(step)


def test_findings_reach_the_job_as_annotations_and_summary_rows(tmp_path: Path) -> None:
    from tests.support.leaky import CONFIG, crafted

    secrets = crafted(tmp_path / "leaky.tar")
    (tmp_path / ".layerscope.toml").write_text(CONFIG)
    p, output, summary = run_step(tmp_path, image="docker-archive:leaky.tar")
    assert p.returncode == 1 and output.read_text() == "verdict=fail\n"
    assert (
        "::error title=layerscope app forbid-secrets::/app/id_rsa: private-key, layer 1, hidden by layer 2 "
        "(still in layer 1's blob)" in p.stdout.splitlines()
    )
    md = summary.read_text()
    assert "| /app/id\\_rsa | private-key | 1 | yes (layer 2) |" in md
    assert "| config Env API\\_TOKEN | secret-looking name set to a literal |  |  |" in md
    assert secrets["token"].decode() not in md + p.stdout
