"""Real builders for the integration tests: Docker 28.5 (BuildKit, both image stores; environment.md §12),
Docker 20.10 (its BuildKit and the classic builder) and buildah 1.28. Every dockerd runs under the engine
lock (/tmp/layerscope-engine.lock) and is stopped by PID; only one runs at a time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from tests.conftest import SHARED

LOCK_PATH = "/tmp/layerscope-engine.lock"
MODERN_SCRIPT = SHARED / "tools" / "modern-docker.sh"
FORKY = Path(os.environ.get("MODERN_ROOT", "/opt/forky"))
DOCKER20 = os.environ.get("LAYERSCOPE_DOCKER_CLI", "/usr/bin/docker")
BASE_TAG = "sample/busybox:base"
ENGINES = ("modern-containerd", "modern-overlay2", "docker20-buildkit", "docker20-classic", "buildah")


class BuildFailed(Exception):
    def __init__(self, log: str) -> None:
        super().__init__(log[-2000:])
        self.log = log


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300, stdin: bytes | None = None) -> str:
    p = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, timeout=timeout, input=stdin)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise BuildFailed(f"{' '.join(cmd)} exited {p.returncode}:\n{out}")
    return out


def base_tar(variant: int) -> bytes:
    """busybox + one relative link per applet, /etc/passwd, /etc/group, /tmp (as regenerate.sh makes it)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "bin").mkdir(parents=True)
        (root / "etc").mkdir()
        (root / "tmp").mkdir()
        shutil.copy("/bin/busybox", root / "bin" / "busybox")
        applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
        for a in applets:
            if a != "busybox":
                (root / "bin" / a).symlink_to("busybox")
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\n")
        (root / "etc" / "base-variant").write_text(f"{variant}\n")
        os.chmod(root / "tmp", 0o1777)
        return subprocess.run(
            ["tar", "-C", str(root), "--sort=name", "--mtime=2020-01-01", "--owner=0", "--group=0", "--numeric-owner",
             "-cf", "-", "."],
            capture_output=True, check=True,
        ).stdout  # fmt: skip


class Engine:
    name = ""

    def available(self) -> str | None:
        """None when this builder can run here, else why not."""
        raise NotImplementedError

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def set_base(self, variant: int) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def build(self, ctx: Path, tag: str, args: dict[str, str], target: str | None) -> str:
        raise NotImplementedError


def _build_flags(tag: str, args: dict[str, str], target: str | None) -> list[str]:
    flags = ["-t", tag]
    for k, v in args.items():
        flags += ["--build-arg", f"{k}={v}"]
    if target:
        flags += ["--target", target]
    return flags


class ModernDocker(Engine):
    """Docker 28.5 from the forky chroot, through modern-docker.sh (which records and stops the PID)."""

    def __init__(self, containerd: bool, state: Path) -> None:
        self.containerd = containerd
        self.name = "modern-containerd" if containerd else "modern-overlay2"
        self.state = state
        self.env = {"MODERN_STATE": str(state), "DOCKER_HOST": f"unix://{state}/docker.sock",
                    "DOCKER_CONFIG": f"{state}/dockercfg", "MODERN_DAEMON_ARGS": ""}  # fmt: skip
        if containerd:
            self.env["MODERN_DAEMON_ARGS"] = "--config-file /etc/docker/daemon-containerd.json"

    def available(self) -> str | None:
        if os.geteuid() != 0:
            return "needs root"
        if not (FORKY / "usr/sbin/dockerd").exists() and shutil.which("debootstrap") is None:
            return f"Docker 28.5 chroot {FORKY} missing and debootstrap not installed"
        return None if MODERN_SCRIPT.exists() else f"{MODERN_SCRIPT} missing"

    def client(self, *args: str, stdin: bytes | None = None) -> str:
        return _run([str(self.state / "bin" / "docker"), *args], self.env, stdin=stdin)

    def start(self) -> None:
        _run(["bash", str(MODERN_SCRIPT), "up"], self.env, timeout=600)

    def stop(self) -> None:
        _run(["bash", str(MODERN_SCRIPT), "down"], self.env)
        _run(["bash", str(MODERN_SCRIPT), "iptables_clean"], self.env)

    def set_base(self, variant: int) -> None:
        self.client("import", "-c", 'CMD ["/bin/sh"]', "-", BASE_TAG, stdin=base_tar(variant))

    def reset(self) -> None:
        self.client("builder", "prune", "-af")

    def build(self, ctx: Path, tag: str, args: dict[str, str], target: str | None) -> str:
        return self.client("buildx", "build", "--progress=rawjson", *_build_flags(tag, args, target), str(ctx))


class Docker20(Engine):
    """Debian's Docker 20.10: one dockerd (started here, by PID) serves its BuildKit and the classic builder."""

    daemon: subprocess.Popen[bytes] | None = None
    root: Path | None = None

    def __init__(self, buildkit: bool) -> None:
        self.buildkit = buildkit
        self.name = "docker20-buildkit" if buildkit else "docker20-classic"

    def available(self) -> str | None:
        if os.geteuid() != 0:
            return "needs root"
        if not Path("/usr/sbin/dockerd").exists() or not Path(DOCKER20).exists():
            return "Debian's docker.io (20.10) is not installed"
        return None

    @property
    def env(self) -> dict[str, str]:
        assert Docker20.root is not None
        return {"DOCKER_HOST": f"unix://{Docker20.root}/docker.sock", "DOCKER_CONFIG": str(Docker20.root / "cfg"),
                "DOCKER_BUILDKIT": "1" if self.buildkit else "0"}  # fmt: skip

    def start(self) -> None:
        if Docker20.daemon is not None:
            return
        Docker20.root = Path(tempfile.mkdtemp(prefix="ls-docker20-"))
        (Docker20.root / "cfg").mkdir()
        (Docker20.root / "cfg" / "config.json").write_text("{}")
        log = open(Docker20.root / "dockerd.log", "wb")  # noqa: SIM115 - lives as long as the daemon
        r = Docker20.root
        Docker20.daemon = subprocess.Popen(
            ["/usr/sbin/dockerd", "--data-root", str(r / "data"), "--exec-root", str(r / "exec"),
             "--pidfile", str(r / "dockerd.pid"), "-H", f"unix://{r}/docker.sock"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run([DOCKER20, "info"], env={**os.environ, **self.env}, capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"dockerd 20.10 did not answer; see {r}/dockerd.log")

    def stop(self) -> None:
        if Docker20.daemon is None:
            return
        Docker20.daemon.terminate()
        Docker20.daemon.wait(timeout=60)
        Docker20.daemon = None
        shutil.rmtree(Docker20.root or "/nonexistent", ignore_errors=True)

    def client(self, *args: str, stdin: bytes | None = None) -> str:
        return _run([DOCKER20, *args], self.env, stdin=stdin)

    def set_base(self, variant: int) -> None:
        self.client("import", "-c", 'CMD ["/bin/sh"]', "-", BASE_TAG, stdin=base_tar(variant))

    def reset(self) -> None:
        self.client("builder", "prune", "-af")
        tags = self.client("images", "--format", "{{.Repository}}:{{.Tag}}", "scenario").split()
        if tags:
            self.client("rmi", "-f", *tags)
        self.client("image", "prune", "-f")

    def build(self, ctx: Path, tag: str, args: dict[str, str], target: str | None) -> str:
        plain = ["--progress=plain"] if self.buildkit else []
        return self.client("build", *plain, *_build_flags(tag, args, target), str(ctx))


class Buildah(Engine):
    name = "buildah"

    def __init__(self, root: Path) -> None:
        self.root = root
        conf = root / "storage.conf"
        self.env = {"CONTAINERS_STORAGE_CONF": str(conf)}
        root.mkdir(parents=True, exist_ok=True)
        conf.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n')

    def available(self) -> str | None:
        if os.geteuid() != 0:
            return "needs root"
        return None if shutil.which("buildah") else "buildah is not installed"

    def buildah(self, *args: str) -> str:
        return _run(["buildah", *args], self.env)

    def set_base(self, variant: int) -> None:
        tar = self.root / f"base-{variant}.tar"
        tar.write_bytes(base_tar(variant))
        ctr = self.buildah("from", "scratch").strip().splitlines()[-1]
        self.buildah("add", ctr, str(tar), "/")
        self.buildah("config", "--cmd", "/bin/sh", ctr)
        self.buildah("commit", "-q", ctr, BASE_TAG)
        self.buildah("rm", ctr)

    def reset(self) -> None:
        self.buildah("rmi", "-a", "-f")
        self.set_base(1)

    def build(self, ctx: Path, tag: str, args: dict[str, str], target: str | None) -> str:
        flags = _build_flags(tag, args, target)
        return self.buildah(
            "bud",
            "--layers",
            "--format",
            "docker",
            "--isolation",
            "chroot",
            *flags,
            "-f",
            str(ctx / "Dockerfile"),
            str(ctx),
        )


class EngineManager:
    """Starts the engine a test asks for, stopping the one running before; holds the lock while any runs."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.engines: dict[str, Engine] = {
            "modern-containerd": ModernDocker(True, workdir / "modern"),
            "modern-overlay2": ModernDocker(False, workdir / "modern"),
            "docker20-buildkit": Docker20(True),
            "docker20-classic": Docker20(False),
            "buildah": Buildah(workdir / "buildah"),
        }
        self.current: Engine | None = None
        self.lock: IO[str] | None = None

    def get(self, name: str) -> Engine:
        engine = self.engines[name]
        if self.current is not None and self.current.name == name:
            return engine
        if isinstance(self.current, Docker20) and isinstance(engine, Docker20):
            self.current = engine  # the same daemon serves both builders
            return engine
        self.stop()
        if self.lock is None:
            self.lock = open(LOCK_PATH, "w")  # noqa: SIM115 - held for the session
            fcntl.flock(self.lock, fcntl.LOCK_EX)
        engine.start()
        engine.set_base(1)
        self.current = engine
        return engine

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def close(self) -> None:
        self.stop()
        if self.lock is not None:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None
