"""Ctrl-C and SIGTERM mid-run, as a terminal and a CI runner send them: one line on stderr,
exit 130 / 143, no output file (not even a temp file), no process left behind, and a remote
scheduler's tasks released."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daskcluster import REPO, DaskCluster
from tests.support.fleetimages import Fleet

pytestmark = pytest.mark.registry

DEADLINE = 300.0  # a bound on waiting for an event, not a measurement


@pytest.fixture
def stalled() -> Iterator[str]:
    """A registry that never answers: a listening socket nobody accepts on (the kernel completes
    the connections and keeps the requests). A run that includes it cannot end before the
    signal, however fast the other images are read."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"docker://127.0.0.1:{sock.getsockname()[1]}/stalled/app:1"


def live_signals() -> None:
    """SIGINT and SIGTERM as a terminal's shell leaves them. A test run started in the
    background (`cmd &` without job control, as CI scripts often are) inherits SIGINT
    ignored, and the command rightly keeps a signal ignored on purpose."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(args: list[str], cache: Path) -> subprocess.Popen[bytes]:
    """The CLI in a session of its own: a signal to its group reaches it and every process it
    started, as Ctrl-C at a terminal does."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAYERSCOPE_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "layerscope", "fleet", *args], preexec_fn=live_signals,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
    )  # fmt: skip


def wait_until(proc: subprocess.Popen[bytes], ready: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():  # type: ignore[operator]
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE:g} s"
        time.sleep(0.05)


def signalled(proc: subprocess.Popen[bytes], ready: object, what: str, sig: signal.Signals) -> tuple[int, str, bytes]:
    """`sig` sent to the run's process group once `ready()`: (exit code, stderr, stdout); the
    group is killed if the run does not end by itself."""
    try:
        wait_until(proc, ready, what)
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, stderr.decode(), stdout


def group_members(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def test_ctrl_c_on_a_local_cluster_mid_run(fleet: Fleet, stalled: str, tmp_path: Path) -> None:
    """The local cluster's workers get the Ctrl-C too: they used to print a KeyboardInterrupt
    traceback each under the command's own `interrupted`."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = start([*fleet.refs(), stalled, "--workers", "2", "--no-cache", "-q", "--output", str(out)], cache)
    # Mid-run: the workers have written a layer's cache entry; the stalled image keeps the run going.
    got = signalled(proc, lambda: any(cache.rglob("*.zst")), "a layer was read", signal.SIGINT)
    assert got == (130, "layerscope: interrupted\n", b"")
    assert list(out.iterdir()) == []  # nothing written, no temp file
    deadline = time.monotonic() + DEADLINE
    while group_members(proc.pid):  # the worker processes (and the resource tracker) follow it out
        assert time.monotonic() < deadline, f"left behind: {group_members(proc.pid)}"
        time.sleep(0.1)


def test_sigterm_on_a_remote_cluster_mid_run(
    fleet: Fleet, dask_cluster: DaskCluster, stalled: str, tmp_path: Path
) -> None:
    """SIGTERM (a CI job cancelled) ends the run as Ctrl-C does: it used to kill the process
    where it stood, with no word and the cluster's cleanup skipped."""
    from distributed import Client

    def tasks(dask_scheduler: object) -> int:
        return len(dask_scheduler.tasks)  # type: ignore[attr-defined]

    out = tmp_path / "out"
    with Client(dask_cluster.address, timeout="20s", set_as_default=False) as client:
        args = [*fleet.refs(), stalled, "--scheduler", dask_cluster.address, "--no-cache", "-q", "--output", str(out)]
        proc = start(args, tmp_path / "cache")
        got = signalled(
            proc, lambda: client.run_on_scheduler(tasks) > 0, "the run's tasks on the scheduler", signal.SIGTERM
        )
        assert got == (143, "layerscope: fleet: terminated\n", b"")
        assert list(out.iterdir()) == []
        deadline = time.monotonic() + DEADLINE
        while client.run_on_scheduler(tasks):  # released with the client that made them
            assert time.monotonic() < deadline, "the run's tasks stayed on the scheduler"
            time.sleep(0.1)


def test_an_interrupted_run_in_process_gives_the_caller_its_signals_and_logging_back(
    fleet: Fleet, dask_cluster: DaskCluster, stalled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main(["fleet", ...])` called by a program of its own (a notebook, a scheduler job):
    after a Ctrl-C its handlers are its own again and its logging is not left silenced."""
    import logging

    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own (see live_signals)
    try:
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), logging.root.manager.disable
        code, err, after = _interrupted_in_process(fleet, dask_cluster, stalled, capsys)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert code == 130
    assert err == "layerscope: interrupted\n"
    assert after == before


def _interrupted_in_process(
    fleet: Fleet, dask_cluster: DaskCluster, stalled: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, tuple[object, object, int]]:
    import logging
    import threading

    from distributed import Client

    from layerscope.cli.main import main

    def tasks(dask_scheduler: object) -> int:
        return len(dask_scheduler.tasks)  # type: ignore[attr-defined]

    with Client(dask_cluster.address, timeout="20s", set_as_default=False) as client:

        def interrupt() -> None:  # once the run is under way (the stalled image holds it there)
            deadline = time.monotonic() + DEADLINE
            while not client.run_on_scheduler(tasks) and time.monotonic() < deadline:
                time.sleep(0.05)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        code = main(["fleet", *fleet.refs()[:2], stalled, "--scheduler", dask_cluster.address, "--no-cache", "-q"])
    after = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), logging.root.manager.disable
    return code, capsys.readouterr().err, after
