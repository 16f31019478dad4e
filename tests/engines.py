"""Real Docker engines for the integration tier (a pytest plugin, loaded from conftest.py).

`engine` is a session fixture parametrized over three engines, started one at a time on
the docker0 bridge and stopped by PID (environment.md §2, §11, §12):

- docker-20.10: Debian bookworm's /usr/sbin/dockerd (BuildKit only through /usr/bin/docker
  with DOCKER_BUILDKIT=1; the client path is LAYERSCOPE_DOCKER_CLI);
- docker-28.5-overlay2 and docker-28.5-containerd: Debian forky's engine from the chroot that
  scripts/modern-engine.sh installs (LAYERSCOPE_MODERN_ROOT), with the overlay2 store and the
  containerd image store; its own docker CLI and buildx run on the host.

Each daemon gets its data root, exec root and socket under a fresh temp dir. pytest groups
the tests by engine and tears one engine down before it starts the next; the firewall chains
Docker 28 leaves are removed before a 20.10 daemon starts. The engine lock
(/tmp/layerscope-engine.lock) is held from the first start to the end of the session; a run
wrapped in `flock` on that file already holds it. Without root, dockerd, the chroot or a static
busybox the engine tests skip with the reason; LAYERSCOPE_ENGINES=id,id picks engines.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "modern-engine.sh"
LOCK = os.environ.get("LAYERSCOPE_ENGINE_LOCK", "/tmp/layerscope-engine.lock")
MODERN_ROOT = Path(os.environ.get("LAYERSCOPE_MODERN_ROOT", "/opt/layerscope-forky"))
LEGACY_DOCKERD = "/usr/sbin/dockerd"
LEGACY_CLI = os.environ.get("LAYERSCOPE_DOCKER_CLI", "/usr/bin/docker")
BUSYBOX = os.environ.get("LAYERSCOPE_BUSYBOX", "/bin/busybox")
BASE_IMAGE = "layerscope-test/busybox:base"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
# Client settings from the user's shell must not leak into a test engine's client.
_CLIENT_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG")


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


ENGINES = (
    EngineSpec("docker-20.10", "20.10", "overlay2"),
    EngineSpec("docker-28.5-overlay2", "28.5", "overlay2"),
    EngineSpec("docker-28.5-containerd", "28.5", "containerd"),
)


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
        base = {k: v for k, v in os.environ.items() if k not in _CLIENT_VARS}
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

    def history(self, name: str) -> list[str]:
        """created_by of every history entry, bottom first (docker history lists newest first)."""
        out = self.docker("history", "--no-trunc", "--format", "{{json .CreatedBy}}", name).stdout.decode()
        return [json.loads(line) for line in reversed(out.splitlines()) if line.strip()]

    def save(self, name: str, path: Path) -> Path:
        self.docker("save", "-o", str(path), name)
        return path

    def load(self, path: Path) -> None:
        self.docker("load", "-i", str(path))


def selected() -> set[str]:
    raw = os.environ.get("LAYERSCOPE_ENGINES", "").strip()
    if not raw or raw == "all":
        return {s.id for s in ENGINES}
    return {x.strip() for x in raw.split(",") if x.strip()}


def unavailable(spec: EngineSpec) -> str | None:
    """Why this engine cannot run here, or None."""
    if spec.id not in selected():
        return f"{spec.id} not selected (LAYERSCOPE_ENGINES={os.environ.get('LAYERSCOPE_ENGINES')})"
    if os.geteuid() != 0:
        return "Docker engine tests need root to start dockerd"
    if spec.modern:
        if not (MODERN_ROOT / "usr/sbin/dockerd").is_file():
            return f"Docker 28.5 chroot not installed at {MODERN_ROOT}: run scripts/modern-engine.sh install"
        if not (MODERN_ROOT / "usr/libexec/docker/cli-plugins/docker-buildx").is_file():
            return f"buildx missing in {MODERN_ROOT}: run scripts/modern-engine.sh install"
        if shutil.which("mount") is None or shutil.which("chroot") is None:
            return "mount and chroot are needed for the Docker 28.5 chroot"
    else:
        if not os.access(LEGACY_DOCKERD, os.X_OK):
            return f"no {LEGACY_DOCKERD}: apt-get install docker.io"
        if not os.access(spec.cli, os.X_OK):
            return f"no Docker client at {spec.cli} (set LAYERSCOPE_DOCKER_CLI; BuildKit needs Debian's 20.10 client)"
    return busybox_problem()


def busybox_problem() -> str | None:
    try:
        with open(BUSYBOX, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return f"no {BUSYBOX} for the base image: apt-get install busybox-static"
    if head[:4] != b"\x7fELF" or _has_interpreter(head):
        return f"{BUSYBOX} is not a static ELF binary: apt-get install busybox-static"
    return None


def _has_interpreter(elf: bytes) -> bool:
    """True when a 64-bit little-endian ELF has a PT_INTERP program header (dynamically linked)."""
    if elf[4] != 2 or elf[5] != 1:
        return True  # not the layout we read: treat as unusable
    phoff = int.from_bytes(elf[0x20:0x28], "little")
    phentsize = int.from_bytes(elf[0x36:0x38], "little")
    phnum = int.from_bytes(elf[0x38:0x3A], "little")
    for i in range(phnum):
        at = phoff + i * phentsize
        if int.from_bytes(elf[at : at + 4], "little") == 3:  # PT_INTERP
            return True
    return False


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


def _lock_inherited() -> bool:
    """True when this process already has the lock file open (a run wrapped in `flock LOCK`)."""
    want = os.path.realpath(LOCK)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == want:
                return True
        except OSError:
            continue
    return False


@pytest.fixture(scope="session")
def engine_lock() -> Iterator[None]:
    """Hold the engine lock for as long as any engine of this session may run."""
    if _lock_inherited():
        yield
        return
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + float(os.environ.get("LAYERSCOPE_ENGINE_LOCK_WAIT", "3600"))
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"another run holds the engine lock {LOCK}")
                time.sleep(1)
        yield
    finally:
        os.close(fd)


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


def _wait_ready(eng: Engine, alive: Any) -> None:
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


def import_base(eng: Engine) -> None:
    """A one-layer busybox base from busybox-static's binary, via `docker import` (no history)."""
    eng.docker("import", "-c", 'CMD ["/bin/sh"]', "-", BASE_IMAGE, stdin=busybox_rootfs_tar())


def busybox_rootfs_tar() -> bytes:
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    buf = io.BytesIO()
    mtime = 1_577_836_800  # fixed, so every engine imports the same diff_id

    def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.linkname, ti.size = kind, mode, mtime, link, len(data)
        t.addfile(ti, io.BytesIO(data) if data else None)

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ("bin", "dev", "etc", "proc", "root", "sys"):
            add(d, tarfile.DIRTYPE, 0o755)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        add("bin/busybox", tarfile.REGTYPE, 0o755, Path(BUSYBOX).read_bytes())
        for a in sorted(set(applets) - {"busybox"}):
            add(f"bin/{a}", tarfile.SYMTYPE, 0o777, link="busybox")
        add("etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\n")
    return buf.getvalue()


@pytest.fixture(scope="session", params=[pytest.param(s, id=s.id) for s in ENGINES])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    spec: EngineSpec = request.param
    reason = unavailable(spec)
    if reason:
        pytest.skip(reason)
    request.getfixturevalue("engine_lock")
    others = running_dockerds()
    if others:
        pytest.skip(f"another dockerd (pid {others[0]}) is running: only one engine may use docker0 at a time")
    state = Path(tempfile.mkdtemp(prefix="ls-engine-", dir="/tmp"))  # short: socket paths are limited
    proc: subprocess.Popen[bytes] | None = None
    eng: Engine | None = None
    try:
        if spec.modern:
            eng = _start_modern(spec, state)
            _wait_ready(eng, lambda: _pid_alive(eng.pid if eng else 0))
        else:
            eng, proc = _start_legacy(spec, state)
            _wait_ready(eng, lambda: proc is not None and proc.poll() is None)
        import_base(eng)
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pid > 0


@pytest.fixture
def docker_cli(engine: Engine) -> str:
    """The client binary for this engine (20.10: LAYERSCOPE_DOCKER_CLI, default /usr/bin/docker)."""
    return engine.cli


@pytest.fixture
def engine_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Point this process's DOCKER_HOST at the engine (for in-process API calls)."""
    for var in _CLIENT_VARS:
        monkeypatch.delenv(var, raising=False)
    for k, v in engine.env.items():
        monkeypatch.setenv(k, v)
    return engine


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
