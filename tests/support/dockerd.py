"""Running a Docker engine for tests: start by PID, wait until it answers, stop by PID.

Debian's 20.10 runs straight from /usr/sbin/dockerd; Docker 28.5 runs from the forky chroot
of scripts/modern-engine.sh (docs/environment.md §2, §11, §12). Each daemon keeps its data root,
exec root, socket and log under its own temp dir (a short path: socket paths are limited).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "scripts" / "modern-engine.sh"
LOCK = os.environ.get("LAYERSCOPE_ENGINE_LOCK", "/tmp/layerscope-engine.lock")
MODERN_ROOT = Path(os.environ.get("LAYERSCOPE_MODERN_ROOT", "/opt/layerscope-forky"))
LEGACY_DOCKERD = "/usr/sbin/dockerd"
LEGACY_CLI = os.environ.get("LAYERSCOPE_DOCKER_CLI", "/usr/bin/docker")
STATE_PREFIX = "ls-engine-"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
# Client settings from the user's shell must not leak into a test engine's client.
CLIENT_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG")


@dataclass(frozen=True, slots=True)
class EngineSpec:
    id: str
    version: str  # "20.10" or "28.5"
    store: str  # "overlay2" (graphdriver) or "containerd" (containerd image store)

    @property
    def modern(self) -> bool:
        return self.version != "20.10"

    @property
    def cli(self) -> str:
        return str(MODERN_ROOT / "usr/bin/docker") if self.modern else LEGACY_CLI


@dataclass
class Engine:
    """A running engine and a client for it."""

    spec: EngineSpec
    state: Path
    pid: int
    env: dict[str, str] = field(default_factory=dict)  # DOCKER_HOST, DOCKER_CONFIG, DOCKER_BUILDKIT

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def cli(self) -> str:
        return self.spec.cli

    @property
    def host(self) -> str:
        return self.env["DOCKER_HOST"]

    def client_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
        return {**base, **self.env}

    def docker(
        self, *args: str, stdin: bytes | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[bytes]:
        p = subprocess.run(
            [self.cli, *args], input=stdin, capture_output=True, env=self.client_env(), timeout=timeout, check=False
        )
        if check and p.returncode != 0:
            err = p.stderr.decode(errors="replace")[-3000:]
            raise AssertionError(f"{self.id}: docker {' '.join(args)} exited {p.returncode}:\n{err}")
        return p

    def build(self, context: Path, tag: str, dockerfile: str = "Dockerfile") -> str:
        """A BuildKit build; returns the plain progress log."""
        verb = ["buildx", "build"] if self.spec.modern else ["build"]
        p = self.docker(*verb, "--progress=plain", "-f", str(context / dockerfile), "-t", tag, str(context))
        return p.stderr.decode(errors="replace")

    def inspect(self, name: str) -> dict[str, Any]:
        doc = json.loads(self.docker("image", "inspect", name).stdout)
        assert isinstance(doc, list) and len(doc) == 1
        return dict(doc[0])

    def inspect_platform(self, name: str, platform: str) -> dict[str, Any]:
        """`docker image inspect --platform` (API 1.49+: Docker 28 only)."""
        doc = json.loads(self.docker("image", "inspect", "--platform", platform, name).stdout)
        assert isinstance(doc, list) and len(doc) == 1
        return dict(doc[0])

    def history(self, name: str) -> list[str]:
        """created_by of every history entry, bottom first (docker history lists newest first)."""
        out = self.docker("history", "--no-trunc", "--format", "{{json .CreatedBy}}", name).stdout.decode()
        return [json.loads(line) for line in reversed(out.splitlines()) if line.strip()]

    def save(self, name: str, path: Path) -> Path:
        self.docker("save", "-o", str(path), name)
        return path

    def load(self, path: Path) -> None:
        self.docker("load", "-i", str(path))


def running_dockerds() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm == "dockerd":
                pids.append(int(entry))
    return pids


def lock_inherited() -> bool:
    """True when this process already has the lock file open (a run wrapped in `flock LOCK`)."""
    want = os.path.realpath(LOCK)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == want:
                return True
        except OSError:
            continue
    return False


def _script(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAYERSCOPE_MODERN_ROOT": str(MODERN_ROOT)}
    p = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False)
    if check and p.returncode != 0:
        raise RuntimeError(f"modern-engine.sh {' '.join(args)} failed:\n{p.stderr[-3000:]}")
    return p


def _log_tail(state: Path) -> str:
    try:
        return "\n".join((state / "dockerd.log").read_text(errors="replace").splitlines()[-20:])
    except OSError:
        return "(no log)"


def _wait_ready(eng: Engine, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if eng.docker("version", check=False, timeout=30).returncode == 0:
            return
        if not alive():
            break
        time.sleep(0.25)
    raise RuntimeError(f"{eng.id} did not answer on {eng.host}; its log ends:\n{_log_tail(eng.state)}")


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted((p for p in points if p == prefix or p.startswith(prefix + "/")), reverse=True)


def _remove_state(state: Path) -> None:
    for point in _mounts_under(state):  # an overlay or netns a killed daemon left behind
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    shutil.rmtree(state, ignore_errors=True)


def _remove_stale_states() -> None:
    """Data roots of runs that were killed. Only called with the lock held and no dockerd up,
    so none of them belongs to a running engine."""
    for stale in Path("/tmp").glob(STATE_PREFIX + "*"):
        if stale.is_dir() and not _pid_alive(_read_pid(stale / "engine.pid")):
            _remove_state(stale)


def reap_orphaned_engines() -> list[int]:
    """Stop the engines of runs that were killed before their `finally` (a timeout, SIGKILL).

    Only called with the lock held: every engine lives inside the lock of the run that started
    it, so an engine under one of our state directories that answers to its PID now has no
    owner. Left running, it would make every later run skip ("another dockerd is running").
    """
    reaped = []
    for stale in Path("/tmp").glob(STATE_PREFIX + "*"):
        pid = _read_pid(stale / "engine.pid")
        if not stale.is_dir() or not _pid_alive(pid):
            continue
        _script("down", str(stale), check=False)  # stops it by the PID it recorded, unmounts a chroot
        if _pid_alive(pid):
            _stop_pid(pid)
        _remove_state(stale)
        reaped.append(pid)
    if reaped:
        _script("iptables_clean", check=False)
    return reaped


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _start_legacy(spec: EngineSpec, state: Path) -> tuple[Engine, subprocess.Popen[bytes]]:
    # Docker 28 leaves firewall chains that break a 20.10 daemon's bridge setup.
    _script("iptables_clean")
    (state / "daemon.json").write_text("{}\n")
    cfg = state / "dockercfg"
    cfg.mkdir()
    (cfg / "config.json").write_text("{}\n")
    sock = state / "docker.sock"
    args = [
        LEGACY_DOCKERD,
        "--config-file", str(state / "daemon.json"),
        "--data-root", str(state / "data"),
        "--exec-root", str(state / "exec"),
        "--pidfile", str(state / "dockerd.pid"),
        "-H", f"unix://{sock}",
    ]  # fmt: skip
    with open(state / "dockerd.log", "ab") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    (state / "engine.pid").write_text(f"{proc.pid}\n")
    env = {"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(cfg), "DOCKER_BUILDKIT": "1"}
    return Engine(spec, state, proc.pid, env), proc


def _start_modern(spec: EngineSpec, state: Path) -> Engine:
    _script("up", str(state), spec.store)
    pid = int((state / "engine.pid").read_text())
    env = {
        "DOCKER_HOST": f"unix://{state / 'docker.sock'}",
        "DOCKER_CONFIG": str(state / "dockercfg"),
        "DOCKER_BUILDKIT": "1",
    }
    return Engine(spec, state, pid, env)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def run_engine(spec: EngineSpec) -> Iterator[Engine]:
    """Start the engine, yield it once it answers, and stop it by PID (unmounting the chroot).

    Call it with the engine lock held and no other dockerd running.
    """
    _remove_stale_states()
    state = Path(tempfile.mkdtemp(prefix=STATE_PREFIX, dir="/tmp"))
    proc: subprocess.Popen[bytes] | None = None
    eng: Engine | None = None
    try:
        if spec.modern:
            eng = _start_modern(spec, state)
            pid = eng.pid
            _wait_ready(eng, lambda: _pid_alive(pid))
        else:
            eng, proc = _start_legacy(spec, state)
            _wait_ready(eng, lambda: proc is not None and proc.poll() is None)
        yield eng
    finally:
        if spec.modern:
            _script("down", str(state), check=False)  # stops dockerd by the PID it recorded, unmounts
            if eng is not None and _pid_alive(eng.pid):
                _stop_pid(eng.pid)
                _script("down", str(state), check=False)
            _script("iptables_clean", check=False)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _remove_state(state)
