"""Every notebook in notebooks/ runs top to bottom in a real kernel without an error."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from tests.support.samples import SAMPLES

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (pip install .)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient (pip install .)")

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NEEDED = ("fat", "slim", "whiteouts")


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "single-stage-vs-multi-stage.ipynb",
        "find-the-waste.ipynb",
        "what-will-my-next-commit-rebuild.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    missing = [n for n in NEEDED if not (SAMPLES / f"{n}.docker.tar").is_file()]
    if missing:
        pytest.skip(f"sample images not in sample_images/: {', '.join(missing)} (built by sample_images/build.sh)")
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel imports this checkout's layerscope
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was displayed"
    assert any("text/html" in o.get("data", {}) for o in outputs), "no DataFrame or summary was displayed"
