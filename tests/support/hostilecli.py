"""Running the CLI on hostile input as a user would, and the bad-input contract.

`run_hostile` starts `python -m layerscope ARGS` from this checkout in a subprocess with a
cache directory of the test's own, HOME, XDG_CACHE_HOME and TMPDIR pointed into a scratch
directory, a timeout, and a memory ceiling (RLIMIT_DATA: heap and private writable
mappings, inherited by forked readers; not RLIMIT_AS, as the Go runtime inside the
`dockerfile` parser reserves gigabytes of address space it never uses): a hang or
unbounded memory fails the test instead of the machine. It also
records which files appeared or changed outside the cache directory and the outputs the
test names, in the directories it is told to watch (the inputs' directory, the scratch
directory, the repository). `refused` checks the contract: exit 2, one line on stderr
starting "layerscope: ", no traceback, nothing written.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
MEMORY_LIMIT = 512 << 20  # data per process: a read needs well under 100 MB of it
TIMEOUT = 120.0
_SKIP = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}
# Variables that would make a run write elsewhere (GitHub's step summary) or read the
# user's settings.
_DROP = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "LAYERSCOPE_CACHE_DIR", "XDG_CACHE_HOME", "DOCKER_CONFIG")


@dataclass(frozen=True)
class HostileRun:
    code: int
    out: str
    err: str
    written: frozenset[str] = field(default_factory=frozenset)  # files new or changed outside the allowed places


@dataclass
class Sandbox:
    """A cache directory and a scratch directory under `root`; inputs live elsewhere."""

    root: Path
    watch: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache = self.root / "cache"
        self.scratch = self.root / "scratch"
        for p in (self.cache, self.scratch / "home", self.scratch / "tmp"):
            p.mkdir(parents=True, exist_ok=True)

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        outputs: Iterable[Path] = (),
        no_cache_dir: bool = False,
        timeout: float = TIMEOUT,
        memory: int = MEMORY_LIMIT,
    ) -> HostileRun:
        """Run the CLI; `outputs` are the files the command was asked to write.
        `no_cache_dir` gives the run a cache directory of its own (a cold read)."""
        cache = self.cache
        if no_cache_dir:
            cache = self.root / f"cache-{len(list(self.root.glob('cache-*')))}"
            cache.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in _DROP}
        env.update(
            PYTHONPATH=str(REPO),
            LAYERSCOPE_CACHE_DIR=str(cache),
            HOME=str(self.scratch / "home"),
            XDG_CACHE_HOME=str(self.scratch / "home" / ".cache"),
            TMPDIR=str(self.scratch / "tmp"),
        )
        watched = [self.scratch, REPO, *self.watch]
        if cwd is not None:
            watched.append(cwd)
        before = {w: _listing(w) for w in watched}

        def limits() -> None:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        p = subprocess.run(
            [sys.executable, "-m", "layerscope", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=str(cwd or REPO),
            preexec_fn=limits,
        )
        allowed = {str(o.resolve()) for o in outputs}
        written: set[str] = set()
        for w in watched:
            after = _listing(w)
            changed = {name for name, facts in after.items() if before[w].get(name) != facts}
            written |= {n for n in changed if n not in allowed and not n.startswith(str(self.cache) + os.sep)}
        return HostileRun(p.returncode, p.stdout, p.stderr, frozenset(written))


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root: (size, mtime_ns), by absolute path."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in _SKIP]
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[os.path.realpath(p)] = (st.st_size, st.st_mtime_ns)
    return out


def refused(run: HostileRun, expect: str) -> str:
    """The bad-input contract; returns the one line."""
    assert run.code == 2, (run.code, run.err[-2000:])
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err[-2000:]
    line = lines[0]
    assert line.startswith("layerscope: "), line
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    assert expect.lower() in line.lower(), line
    assert len(line) < 1000, f"{len(line)} characters"
    assert not run.written, sorted(run.written)
    return line


def accepted(run: HostileRun) -> str:
    """A good (or tolerated) input: exit 0, nothing on stderr, nothing written; returns stdout."""
    assert run.code == 0, (run.code, run.err[-2000:])
    assert "Traceback" not in run.err, run.err
    assert not run.written, sorted(run.written)
    return run.out
