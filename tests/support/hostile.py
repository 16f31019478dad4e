"""Running the CLI on hostile input, as a user would, under limits.

`Sandbox` gives a run its own HOME, XDG_CACHE_HOME, TMPDIR and working directory, all in a
test's tmp dir; `run()` starts `python -m layerscope ...` there with a timeout and an
address-space limit (RLIMIT_AS, so a memory bomb fails instead of swapping the machine) and
records every path that appeared or changed in the sandbox and the repository, and, through
an audit hook (tests/support/audit_boot.py), every write the process attempted anywhere,
/tmp included, even of a temp file deleted before it ended. Only the cache dir
(`XDG_CACHE_HOME/layerscope`) and the outputs a run names may be written.
`assert_refused()` checks the bad-input contract: exit 2, exactly one line on stderr
starting `layerscope: `, no traceback.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MEMORY = 1536 << 20  # address space: the CLI with its imports and reader threads fits well within
DEFAULT_TIMEOUT = 120.0  # a hang fails the test, well before a CI job's own timeout
_SKIP = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}
# Variables that would point the run at the user's real directories (or change where it writes).
_DROPPED = ("LAYERSCOPE_CACHE_DIR", "MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


@dataclass(frozen=True)
class HostileResult:
    code: int
    out: str
    err: str
    written: tuple[str, ...]  # paths (sandbox- or repo-relative) created or changed outside the allowed ones
    raw_out: bytes = b""  # stdout and stderr as written (out/err decode them, lossily)
    raw_err: bytes = b""


def _listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under root with (type bits, size, mtime in ns); special files are never opened."""
    out: dict[str, tuple[int, int, int]] = {}
    if not root.exists():
        return out
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in _SKIP and not (dirpath == str(root) and x == "audit")]
        for n in dirs + names:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            size = 0 if n in dirs else st.st_size
            out[os.path.relpath(p, root)] = (st.st_mode & 0o170000, size, 0 if n in dirs else st.st_mtime_ns)
    return out


class Sandbox:
    """Directories for one hostile run: `inputs` for the test's files, `work` as the cwd."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.xdg_cache = root / "xdg-cache"
        self.tmp = root / "tmp"
        self.work = root / "work"
        self.inputs = root / "inputs"
        for d in (self.home, self.xdg_cache, self.tmp, self.work, self.inputs):
            d.mkdir(parents=True, exist_ok=True)
        self.audit = root / "audit"  # the audit hook's log; not part of the listing

    @property
    def cache(self) -> Path:
        """layerscope's own cache dir in this sandbox (the one place a run may write unasked)."""
        return self.xdg_cache / "layerscope"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        env.update(
            PYTHONPATH=str(REPO),
            HOME=str(self.home),
            XDG_CACHE_HOME=str(self.xdg_cache),
            TMPDIR=str(self.tmp),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def run(
        self,
        *args: str,
        outputs: Iterable[Path] = (),
        stdin: bytes | int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        memory: int = DEFAULT_MEMORY,
        env: dict[str, str] | None = None,
    ) -> HostileResult:
        """Run `python -m layerscope ARGS`; `stdin` is bytes, or a file descriptor to read from;
        `env`: variables set for this run (e.g. GITHUB_STEP_SUMMARY, naming an output)."""
        before_box, before_repo = _listing(self.root), _listing(REPO)
        self.audit.mkdir(exist_ok=True)
        log = self.audit / f"run-{len(os.listdir(self.audit))}.log"
        allowed = [str(Path(o).resolve()) for o in outputs]
        run_env = {**self.env(), **(env or {})}
        run_env["LAYERSCOPE_AUDIT_LOG"] = str(log)
        run_env["LAYERSCOPE_AUDIT_ALLOW"] = os.pathsep.join([str(self.cache), *allowed])

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        p = subprocess.run(
            [sys.executable, "-m", "tests.support.audit_boot", *args],
            capture_output=True,
            env=run_env,
            cwd=str(self.work),
            timeout=timeout,
            input=stdin if isinstance(stdin, bytes) else None,
            stdin=stdin if isinstance(stdin, int) else (None if isinstance(stdin, bytes) else subprocess.DEVNULL),
            preexec_fn=limit,
        )
        cache = str(self.cache.resolve())

        def changed(before: dict[str, tuple[int, int, int]], root: Path) -> list[str]:
            after = _listing(root)
            out = []
            for rel, meta in after.items():
                if before.get(rel) == meta:
                    continue
                full = str((root / rel).resolve()) if not os.path.islink(root / rel) else str(root / rel)
                if full == cache or full.startswith(cache + os.sep):
                    continue
                if any(full == a or full.startswith(a + os.sep) for a in allowed):
                    continue
                if any(a.startswith(full + os.sep) for a in allowed) and meta[0] == 0o040000:
                    continue  # a parent directory of a requested output
                out.append(rel)
            return out

        written = changed(before_box, self.root) + [f"<repo>/{p}" for p in changed(before_repo, REPO)]
        written += [f"<audit> {line}" for line in (log.read_text().splitlines() if log.exists() else [])]
        return HostileResult(
            p.returncode,
            p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"),
            tuple(written),
            p.stdout,
            p.stderr,
        )


def assert_refused(r: HostileResult, expect: str = "") -> str:
    """Exit 2, one line on stderr starting `layerscope: ` (containing `expect`), no traceback, nothing written."""
    lines = r.err.splitlines()
    assert r.code == 2, (r.code, r.err[-2000:])
    assert len(lines) == 1, r.err[-2000:]
    assert lines[0].startswith("layerscope: "), lines[0]
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err[-2000:]
    assert expect.lower() in lines[0].lower(), lines[0]
    assert not r.written, r.written
    return lines[0]


def assert_clean(r: HostileResult) -> None:
    """A run that may succeed or fail cleanly: never a crash, and nothing written where it should not be."""
    assert r.code in (0, 1, 2), (r.code, r.err[-2000:])
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err[-2000:]
    if r.code == 2:
        assert len(r.err.splitlines()) == 1, r.err[-2000:]
    assert not r.written, r.written


class Hang(BaseException):  # a BaseException: code under test that catches Exception must not swallow it
    """Raised by time_limit() in the code that ran too long."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang inside the block once it has run `seconds` (main thread only): for in-process
    fuzzing, where a hung example would otherwise hang the run (hypothesis' deadline only
    judges an example after it ends)."""

    def fire(_sig: int, _frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
