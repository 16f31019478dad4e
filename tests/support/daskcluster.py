"""A real Dask cluster on loopback: `dask scheduler` and `dask worker` processes, started and
stopped by PID, the workers running this checkout (PYTHONPATH) with their own layer cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.registry import free_port

REPO = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0


def dask_missing() -> str | None:
    """Why a Dask cluster cannot run here, or None."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "dask.distributed is not installed (pip install 'dask[distributed]')"
    return None


def dask_command() -> list[str]:
    """`dask` of this interpreter (a venv's is not on PATH unless activated)."""
    return [sys.executable, "-m", "dask"]


@dataclass
class DaskCluster:
    workdir: Path
    workers: int = 2
    dashboard: bool = False  # served by the scheduler on a free loopback port (needs bokeh)
    dashboard_port: int = field(init=False, default=0)
    cache_dir: Path = field(init=False)
    address: str = field(init=False)
    scheduler: subprocess.Popen[bytes] = field(init=False)
    worker_procs: list[subprocess.Popen[bytes]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cache_dir = self.workdir / "worker-cache"
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        args = ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        if self.dashboard:
            self.dashboard_port = free_port()
            args[-1:] = ["--dashboard-address", f"127.0.0.1:{self.dashboard_port}"]
        self.scheduler = self._spawn("scheduler", [*dask_command(), *args])
        try:
            self._wait_for(0)
            for n in range(self.workers):
                self.add_worker(f"w{n}")
            self._wait_for(self.workers)
        except BaseException:
            self.stop()
            raise

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "LAYERSCOPE_CACHE_DIR": str(self.cache_dir),
            "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "warning",
        }

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (the process owns it)
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self._env(), cwd=str(self.workdir))

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            f"worker-{name}",
            [*dask_command(), "worker", self.address, "--name", name, "--nworkers", "1", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard", "--no-nanny", "--memory-limit", "0"],
        )  # fmt: skip
        self.worker_procs.append(proc)
        return proc

    def _wait_for(self, workers: int) -> None:
        from distributed import Client

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {(self.workdir / 'scheduler.log').read_text()[-2000:]}")
            try:
                with Client(self.address, timeout="2s", set_as_default=False) as client:
                    if len(client.scheduler_info()["workers"]) >= workers:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Dask cluster did not get {workers} workers within {START_TIMEOUT:g}s")
            time.sleep(0.2)

    def kill_worker(self, index: int) -> None:
        """SIGKILL: no goodbye to the scheduler, as when a machine dies."""
        proc = self.worker_procs[index]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Workers first (a worker whose scheduler is gone keeps trying to reach it), then the scheduler."""
        for group in (self.worker_procs, [self.scheduler]):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
