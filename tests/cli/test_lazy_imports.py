"""matplotlib and pandas are core dependencies, but only `report`, the figure functions and the
DataFrames load them: `--version`, `inspect`, `packages` and `check` start without them, cold
and warm (the warm start's target depends on it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
FAT = REPO / "sample_images" / "fat.docker.tar"
HEAVY = ("matplotlib", "pandas", "numpy")

# Runs the CLI's main() in this interpreter (the console entry point leaves through os._exit,
# before anything could look), then names the heavy modules it loaded.
PROBE = """
import sys
from layerscope.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:  # argparse's --version
    code = e.code
print("LOADED", ",".join(m for m in {heavy!r} if m in sys.modules))
sys.exit(code)
"""


def _probe(args: list[str], cache: Path) -> tuple[int, str, str]:
    env = {"PYTHONPATH": str(REPO), "LAYERSCOPE_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    p = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=300,
    )
    loaded = next(line for line in p.stdout.splitlines() if line.startswith("LOADED"))
    return p.returncode, loaded.partition(" ")[2], p.stderr


@pytest.mark.parametrize(
    "args",
    [["--version"], ["inspect", str(FAT)], ["inspect", "--json", str(FAT)], ["packages", str(FAT)]],
    ids=["version", "inspect", "inspect-json", "packages"],
)
def test_no_matplotlib_or_pandas_cold_or_warm(args: list[str], tmp_path: Path) -> None:
    for run in ("cold", "warm"):  # the second run answers from the cache the first one filled
        code, loaded, err = _probe(args, tmp_path / "cache")
        assert code == 0, (run, err)
        assert loaded == "", f"{run} {args[0]} imported {loaded}"


def test_importtime_of_the_console_module_names_neither(tmp_path: Path) -> None:
    """The same seen from outside, as `python -X importtime -m layerscope inspect` reports it."""
    env = {"PYTHONPATH": str(REPO), "LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "layerscope", "inspect", str(FAT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")}
    assert "layerscope.cli.main" in imported  # the probe saw the run
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


def test_report_runs_with_the_core_dependencies(tmp_path: Path) -> None:
    """`layerscope report` needs no extra: matplotlib comes with layerscope."""
    out = tmp_path / "fat.html"
    code, loaded, err = _probe(["report", str(FAT), "-o", str(out)], tmp_path / "cache")
    assert code == 0, err
    assert "matplotlib" in loaded.split(",")
    assert out.read_text().startswith("<!DOCTYPE html>") or "<html" in out.read_text()[:500]
