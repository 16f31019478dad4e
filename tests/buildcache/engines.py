"""Real builders for the integration tests: Docker 28.5 (BuildKit, both image stores; docs/environment.md §12),
Docker 20.10 (its BuildKit and the classic builder), all on the session's engines (tests/engines.py, which
starts one dockerd at a time under the engine lock and stops it by PID), and buildah 1.28 (no daemon).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

from tests.support.dockerd import Engine as SessionEngine

BASE_TAG = "sample/busybox:base"
# builder -> the session engine (tests/engines.py) it runs on; buildah needs no daemon
ON_ENGINE = {
    "modern-containerd": "docker-28.5-containerd",
    "modern-overlay2": "docker-28.5-overlay2",
    "docker20-buildkit": "docker-20.10",
    "docker20-classic": "docker-20.10",
}
ENGINES = (*ON_ENGINE, "buildah")


class BuildFailed(Exception):
    def __init__(self, log: str) -> None:
        super().__init__(log[-2000:])
        self.log = log


# Failures of the machine, not of the Dockerfile nor of the cache: a build that fails with one of these says
# nothing about the builder's verdict, so the whole scenario is built again (see `retry_transient`). Keep each
# pattern the exact text of one known infrastructure error: a real build failure must never be retried.
TRANSIENT = (
    # runc (under buildah's RUN) copies its own binary into a sealed memfd before it starts the container; on a
    # loaded machine sealing it can fail with EBUSY (seen in CI: `Close_Fd sealing memfd copy: Device or ...`)
    "sealing memfd copy: Device or resource busy",
)
RETRIES = 2  # times a scenario is built again after a transient failure


class TransientFailure(BuildFailed):
    """A builder command failed with one of the TRANSIENT infrastructure errors."""


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300, stdin: bytes | None = None) -> str:
    p = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, timeout=timeout, input=stdin)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        failed = TransientFailure if any(t in out for t in TRANSIENT) else BuildFailed
        raise failed(f"{' '.join(cmd)} exited {p.returncode}:\n{out}")
    return out


T = TypeVar("T")


def retry_transient(scenario: Callable[[], T], before_retry: Callable[[], None] = lambda: None) -> T:
    """Run a whole scenario (reset, build before, build after, read the verdicts) again, at most RETRIES times,
    when a builder command hit a TRANSIENT error. The whole of it: re-running only the failed build would build
    on the cache the first try left, and change the verdicts of the steps that ran then. Any other failure,
    and the last transient one, propagates."""
    for left in range(RETRIES, -1, -1):
        try:
            return scenario()
        except TransientFailure:
            if left == 0:
                raise
            before_retry()
    raise AssertionError("unreachable")


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

    def set_base(self, variant: int, tag: str = BASE_TAG) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def build(
        self, ctx: Path, tag: str, args: dict[str, str], target: str | None, contexts: dict[str, str] | None = None
    ) -> str:
        raise NotImplementedError


def _build_flags(
    tag: str, args: dict[str, str], target: str | None, contexts: dict[str, str] | None = None
) -> list[str]:
    flags = ["-t", tag]
    for k, v in args.items():
        flags += ["--build-arg", f"{k}={v}"]
    if target:
        flags += ["--target", target]
    for name, value in (contexts or {}).items():
        flags += ["--build-context", f"{name}={value}"]
    return flags


class DaemonBuilder(Engine):
    """A builder of one of the session's Docker engines (tests/engines.py `engine`): the engine is
    started, stopped and locked by that fixture, one at a time; this only builds on it."""

    def __init__(self, name: str, engine: SessionEngine) -> None:
        self.name = name
        self.engine = engine
        self.modern = engine.spec.modern
        self.buildkit = name != "docker20-classic"

    def available(self) -> str | None:
        return None

    def client(self, *args: str, stdin: bytes | None = None) -> str:
        env = {**self.engine.client_env(), "DOCKER_BUILDKIT": "1" if self.buildkit else "0"}
        return _run([self.engine.cli, *args], env, stdin=stdin)

    def set_base(self, variant: int, tag: str = BASE_TAG) -> None:
        self.client("import", "-c", 'CMD ["/bin/sh"]', "-", tag, stdin=base_tar(variant))

    _based: ClassVar[set[int]] = set()  # pids of the engines the base image was imported into

    def reset(self) -> None:
        self.client("builder", "prune", "-af")
        tags = self.client("images", "--format", "{{.Repository}}:{{.Tag}}", "scenario").split()
        if tags:
            self.client("rmi", "-f", *tags)
        self.client("image", "prune", "-f")
        if self.engine.pid not in DaemonBuilder._based:
            self.set_base(1)
            DaemonBuilder._based.add(self.engine.pid)

    def build(
        self, ctx: Path, tag: str, args: dict[str, str], target: str | None, contexts: dict[str, str] | None = None
    ) -> str:
        flags = _build_flags(tag, args, target, contexts)
        if self.modern:
            return self.client("buildx", "build", "--progress=rawjson", *flags, str(ctx))
        plain = ["--progress=plain"] if self.buildkit else []
        return self.client("build", *plain, *flags, str(ctx))


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

    def set_base(self, variant: int, tag: str = BASE_TAG) -> None:
        tar = self.root / f"base-{variant}.tar"
        tar.write_bytes(base_tar(variant))
        ctr = self.buildah("from", "scratch").strip().splitlines()[-1]
        self.buildah("add", ctr, str(tar), "/")
        self.buildah("config", "--cmd", "/bin/sh", ctr)
        self.buildah("commit", "-q", ctr, tag)
        self.buildah("rm", ctr)

    def reset(self) -> None:
        self.clean()
        self.set_base(1)

    def clean(self) -> None:
        """Working containers a failed build left (mounted) and every image."""
        self.buildah("rm", "-a")
        self.buildah("rmi", "-a", "-f")

    def build(
        self, ctx: Path, tag: str, args: dict[str, str], target: str | None, contexts: dict[str, str] | None = None
    ) -> str:
        flags = _build_flags(tag, args, target, contexts)
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
