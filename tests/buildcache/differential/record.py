"""Record real builders' verdicts on the corpus: build each scenario before and after its change and read
which Dockerfile lines the builder took from its cache (rawjson `cached`, plain `CACHED`, classic
`Using cache`, buildah `Using cache`).

    flock /tmp/layerscope-engine.lock python -m tests.buildcache.differential.record --engine modern-containerd \\
        --budget 540
    python -m tests.buildcache.differential.record --engine buildah --budget 540      # no daemon, no lock

Scenarios already recorded for an engine are skipped (--redo re-records the given --ids); the run stops
starting new scenarios after --budget seconds, so a batch holds the engine lock for a bounded time.
`--check` rebuilds instead of recording and prints the scenarios whose recorded truth no longer holds.
Needs root (dockerd, buildah); the Docker engines are started and stopped as tests/engines.py does.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.buildcache import buildlogs
from tests.buildcache.differential.corpus import append_truth, load_scenarios, load_truth, save_version
from tests.buildcache.engines import (
    ON_ENGINE,
    Buildah,
    BuildFailed,
    DaemonBuilder,
    Engine,
    TransientFailure,
    retry_transient,
)
from tests.buildcache.scenario import Scenario
from tests.engines import ENGINES as SPECS
from tests.support.dockerd import LOCK, lock_inherited, reap_orphaned_engines, run_engine, running_dockerds


def observe(engine: Engine, sc: Scenario, work: Path) -> dict[str, Any]:
    """One scenario on one builder: its verdict per line, or which build failed. A transient infrastructure
    failure (engines.TRANSIENT) builds the whole scenario again; when it persists, TransientFailure."""

    # the failed try may have left intermediate images a later build could hit: the full reset
    return retry_transient(lambda: _observe_once(engine, sc, work), lambda: engine_dirty(engine))


def _observe_once(engine: Engine, sc: Scenario, work: Path) -> dict[str, Any]:
    before, after = work / "before", work / "after"
    subprocess.run(["rm", "-rf", str(before), str(after)], check=True)
    sc.write_before(before)
    sc.write_after(after)
    engine.reset()
    try:
        engine.build(before, "scenario:before", sc.args_before(), sc.target_before)
    except TransientFailure:
        raise
    except BuildFailed as err:
        return {"id": sc.name, "error": "before", "log": err.log[-600:]}
    if sc.change.get("base_changed"):
        engine.set_base(2)
    try:
        log = engine.build(after, "scenario:after", sc.args_after(), sc.target)
    except TransientFailure:
        raise
    except BuildFailed as err:
        return {"id": sc.name, "error": "after", "log": err.log[-600:]}
    finally:
        if sc.change.get("base_changed"):
            engine.set_base(1)
    dockerfile = (after / "Dockerfile").read_text()
    try:
        steps = buildlogs.read_verdicts(engine.name, log, dockerfile, sc.args_after(), sc.target)
    except (buildlogs.LogMismatch, IndexError, ValueError) as err:
        return {"id": sc.name, "unreadable": str(err)[:300], "log": log[-600:]}
    return {"id": sc.name, "steps": {str(k): v for k, v in sorted(steps.items())}}


class FastDaemonBuilder(DaemonBuilder):
    """The suite's daemon builder with a cheaper reset between scenarios: only the two tags a scenario made
    and the build cache (the classic builder's cache is those tags' parent images, removed with them, and the
    untagged images of the stages before the target: without their prune, a stage an earlier scenario built
    hit in a later one, as in multi-target-changed-build-to-final)."""

    dirty = False  # a failed build leaves intermediate images (classic) that a later build could hit

    def reset(self) -> None:
        if self.dirty:
            self.client("container", "prune", "-f")
            super().reset()
            self.dirty = False
            return
        if self.buildkit:
            self.client("builder", "prune", "-af")
        with contextlib.suppress(BuildFailed):  # a tag that does not exist (yet)
            self.client("rmi", "-f", "scenario:before", "scenario:after")
        if not self.buildkit:  # the images of the classic builder's other stages stay, untagged, as its cache
            self.client("image", "prune", "-f")
        if self.engine.pid not in DaemonBuilder._based:
            self.set_base(1)
            DaemonBuilder._based.add(self.engine.pid)


def engine_dirty(engine: Engine) -> None:
    if isinstance(engine, FastDaemonBuilder):
        engine.dirty = True


def spread(scenarios: list[Scenario]) -> list[Scenario]:
    """A stable order that mixes seeds and operators, so that a partial recording covers every kind."""
    return sorted(scenarios, key=lambda s: hashlib.sha256(s.name.encode()).hexdigest())


def versions(engine: Engine) -> str:
    if isinstance(engine, DaemonBuilder):
        server = engine.client("version", "--format", "{{.Server.Version}}").strip()
        if engine.modern:
            buildx = engine.client("buildx", "version").strip()
            return f"Docker Engine {server}; {buildx}; store {engine.engine.spec.store}"
        return f"Docker Engine {server}; {'BuildKit (built in)' if engine.buildkit else 'classic builder'}"
    out = subprocess.run(["buildah", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return f"{out}; bud --layers --format docker --isolation chroot"


@contextlib.contextmanager
def engine_lock() -> Iterator[None]:
    if lock_inherited():
        yield
        return
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def builders(names: list[str], work: Path) -> Iterator[list[Engine]]:
    if names == ["buildah"]:
        b = Buildah(work / "buildah-store")
        why = b.available()
        if why:
            raise SystemExit(f"buildah: {why}")
        yield [b]
        return
    specs = {ON_ENGINE[n] for n in names}
    if len(specs) != 1 or "buildah" in names:
        raise SystemExit("give engines of one daemon per run (docker20-buildkit and docker20-classic share one)")
    spec = next(s for s in SPECS if s.id in specs)
    with engine_lock():
        reap_orphaned_engines()
        if running_dockerds():
            raise SystemExit("another dockerd is running: only one engine may use docker0 at a time")
        with run_engine(spec) as eng:
            DaemonBuilder._based.discard(eng.pid)
            yield [FastDaemonBuilder(n, eng) for n in names]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, help="comma-separated engine ids")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds after which no new scenario starts")
    ap.add_argument("--ids", default="", help="comma-separated scenario ids (default: all not yet recorded)")
    ap.add_argument("--redo", action="store_true", help="re-record the --ids even when recorded")
    ap.add_argument("--check", action="store_true", help="rebuild and compare with the recorded truth")
    ns = ap.parse_args(argv)
    names = [n.strip() for n in ns.engine.split(",") if n.strip()]
    wanted = {i for i in ns.ids.split(",") if i}
    scenarios = spread([s for s in load_scenarios() if not wanted or s.name in wanted])
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ls-diff-") as tmp, builders(names, Path(tmp)) as engines:
        start = time.monotonic()  # the budget counts from the engine's start, not the wait for the lock
        for engine in engines:
            save_version(engine.name, versions(engine))
        for engine in engines:
            truth = load_truth(engine.name)
            todo = [s for s in scenarios if ns.check or ns.redo or s.name not in truth]
            done = 0
            for sc in todo:
                if time.monotonic() - start > ns.budget:
                    break
                try:
                    rec = observe(engine, sc, Path(tmp))
                except TransientFailure as err:  # no verdict of the builder's: not recorded, tried next run
                    engine_dirty(engine)
                    print(f"{engine.name} {sc.name}: not recorded, a transient failure persisted: "
                          f"{err.log[-300:]}", flush=True)  # fmt: skip
                    continue
                if "error" in rec:
                    engine_dirty(engine)
                done += 1
                if ns.check:
                    old = truth.get(sc.name)
                    if old is not None and {k: old.get(k) for k in ("steps", "error")} != {
                        k: rec.get(k) for k in ("steps", "error")
                    }:
                        failures += 1
                        print(f"CHANGED {engine.name} {sc.name}: recorded {old}, now {rec}", flush=True)
                    continue
                append_truth(engine.name, rec)
            left = len(todo) - done
            print(f"{engine.name}: {done} scenario(s) {'checked' if ns.check else 'recorded'}, {left} left",
                  flush=True)  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
