"""The progress bar of a real run, on a real terminal (a pty): layers, bytes read, images,
and the scheduler's dashboard address; nothing with --json or off a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.daskcluster import REPO, DaskCluster, dask_missing
from tests.support.fleetimages import Fleet

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def dashboard_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    why = dask_missing()
    if why:
        pytest.skip(f"fleet tests need a real Dask cluster: {why}")
    pytest.importorskip("bokeh", reason="a Dask scheduler serves its dashboard only with bokeh installed")
    cluster = DaskCluster(tmp_path_factory.mktemp("dask-dashboard"), workers=1, dashboard=True)
    yield cluster
    cluster.stop()


def run_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """`layerscope ARGS` with stderr on a pty (stdout a pipe): (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerscope", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the pty is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=300)
    return code, out, b"".join(chunks).decode()


def test_a_terminal_shows_the_bar_and_the_dashboard(fleet: Fleet, dashboard_cluster: DaskCluster) -> None:
    refs = [i.ref(fleet.host) for i in fleet.images if i.repository.startswith("samples/")]
    code, out, err = run_on_a_terminal("fleet", *refs, "--scheduler", dashboard_cluster.address, "--no-cache")
    assert code == 0, err
    assert f"Dask dashboard: http://127.0.0.1:{dashboard_cluster.dashboard_port}/status" in err
    final = err.rstrip().rsplit("\r", 1)[-1]
    layers = out.split(" unique layers", 1)[0].rsplit(" ", 1)[-1]  # "Images 4 (0 failed), N unique layers"
    assert f"layers {layers}/{layers}" in final and f"images {len(refs)}/{len(refs)}" in final, final
    assert " read, " in final and " 0 B read" not in final  # --no-cache: every blob was downloaded
    assert out.startswith("Images ")  # the summary still goes to stdout


def test_json_on_a_terminal_is_quiet(fleet: Fleet, dashboard_cluster: DaskCluster) -> None:
    code, out, err = run_on_a_terminal("fleet", fleet.refs()[0], "--scheduler", dashboard_cluster.address, "--json")
    assert code == 0 and err == "" and out.startswith("{")


def test_quiet_flag_on_a_terminal(fleet: Fleet, dashboard_cluster: DaskCluster) -> None:
    code, out, err = run_on_a_terminal("fleet", fleet.refs()[0], "--scheduler", dashboard_cluster.address, "-q")
    assert code == 0 and err == "" and out.startswith("Images ")
