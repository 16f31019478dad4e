"""Real Docker engines for the integration tier (a pytest plugin, loaded from conftest.py).

`engine` is a session fixture parametrized over three engines, started one at a time on
the docker0 bridge and stopped by PID (docs/environment.md §2, §11, §12):

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
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import (
    CLIENT_VARS,
    LEGACY_DOCKERD,
    LOCK,
    MODERN_ROOT,
    Engine,
    EngineSpec,
    lock_inherited,
    reap_orphaned_engines,
    run_engine,
    running_dockerds,
)

BUSYBOX = os.environ.get("LAYERSCOPE_BUSYBOX", "/bin/busybox")
BASE_IMAGE = "layerscope-test/busybox:base"

ENGINES = (
    EngineSpec("docker-20.10", "20.10", "overlay2"),
    EngineSpec("docker-28.5-overlay2", "28.5", "overlay2"),
    EngineSpec("docker-28.5-containerd", "28.5", "containerd"),
)


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


@pytest.fixture(scope="session")
def engine_lock() -> Iterator[None]:
    """Hold the engine lock for as long as any engine of this session may run."""
    if lock_inherited():
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
    reap_orphaned_engines()
    others = running_dockerds()
    if others:
        pytest.skip(f"another dockerd (pid {others[0]}) is running: only one engine may use docker0 at a time")
    with run_engine(spec) as eng:
        import_base(eng)
        yield eng


@pytest.fixture
def docker_cli(engine: Engine) -> str:
    """The client binary for this engine (20.10: LAYERSCOPE_DOCKER_CLI, default /usr/bin/docker)."""
    return engine.cli


@pytest.fixture
def engine_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Point this process's DOCKER_HOST at the engine (for in-process API calls)."""
    for var in CLIENT_VARS:
        monkeypatch.delenv(var, raising=False)
    for k, v in engine.env.items():
        monkeypatch.setenv(k, v)
    return engine


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
