"""What `pip install .` installs: the wheel holds every file the package reads at run time
(explore's stylesheet), depends on what reports and notebooks import, and has the version
of layerscope/_version.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_has_the_data_files_and_the_report_dependencies(tmp_path: Path) -> None:
    src = tmp_path / "src"  # a copy: setuptools builds in the source tree (build/, *.egg-info)
    shutil.copytree(REPO / "layerscope", src / "layerscope", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), src],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    (wheel,) = tmp_path.glob("layerscope-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(z.read(meta).decode())
    data = {
        str(f.relative_to(REPO))
        for f in (REPO / "layerscope").rglob("*")
        if f.is_file() and f.suffix not in (".py", ".pyc") and "__pycache__" not in f.parts
    }
    assert "layerscope/tui/explore.tcss" in data
    assert data <= names
    requires = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    core = {re.match(r"[A-Za-z0-9_.\-]+", r).group() for r in requires}  # type: ignore[union-attr]
    # reports, and the README's `jupyter execute notebooks/...`, after `pip install .` alone
    assert core >= {"matplotlib", "pandas", "textual", "nbclient", "ipykernel"}
    assert set(metadata.get_all("Provides-Extra") or []) >= {"report", "notebook"}  # kept for old install lines
    # the README's `pip install '.[notebook]' && jupyter lab notebooks/`: the extra brings JupyterLab
    notebook = [r for r in metadata.get_all("Requires-Dist") or [] if re.search(r"extra == .notebook.", r)]
    assert [re.match(r"[A-Za-z0-9_.\-]+", r).group() for r in notebook] == ["jupyterlab"]  # type: ignore[union-attr]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[notebook]' && jupyter lab notebooks/" in readme
    assert "`jupyter execute --inplace notebooks/find-the-waste.ipynb`" in readme
    # the version is written once, in layerscope/_version.py, and the wheel takes it from there
    from layerscope._version import __version__

    assert metadata["Version"] == __version__
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
