"""Score `layerscope cache` (in process) against the recorded verdicts of the real builders.

python -m tests.buildcache.differential.compare [--engine E] [-v]   # exactness per engine, the misses listed
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.results import CacheSimulation
from layerscope.buildcache.simulate import simulate_cache
from layerscope.errors import LayerscopeError
from tests.buildcache.differential.corpus import ENGINES, MODEL, load_scenarios, load_truth
from tests.buildcache.scenario import Scenario

DEPENDS = "depends"
# a command that failed when it ran: a build failure no cache model can foresee (not scored)
RUNTIME_FAILURE = (
    "did not complete successfully",
    "returned a non-zero code",
    "exit status",
    "executor failed running",  # Docker 20.10's BuildKit
)


def runtime_failure(truth: dict[str, Any]) -> bool:
    log = truth.get("log", "")
    return "error" in truth and any(m in log for m in RUNTIME_FAILURE) and "RUN" in log


def predict(sc: Scenario, engine: str, work: Path) -> CacheSimulation | str:
    """The model's answer for the scenario as this engine builds it; a string when the model refuses it."""
    builder, store = MODEL[engine]
    before, after = work / "before", work / "after"
    if not before.exists():
        sc.write_before(before)
        sc.write_after(after)
    args_before, args_after = sc.args_before(), sc.args_after()
    old_args: dict[str, str | None] = {k: v for k, v in args_before.items() if args_after.get(k) != v}
    old_args.update({k: None for k in args_after if k not in args_before})
    req = CacheRequest(
        context=str(after), against=str(before), target=sc.target, old_target=sc.target_before, builder=builder,
        image_store=store, build_args=args_after, old_build_args=old_args,
        base_changed=("*",) if sc.change.get("base_changed") else (),
    )  # fmt: skip
    try:
        return simulate_cache(req)
    except LayerscopeError as err:
        return str(err)


def verdicts(sim: CacheSimulation) -> dict[str, str]:
    # FROM is confirmed through the steps built on it: its vertex's `cached` flag is no cache verdict
    return {
        str(s.line): s.status for s in sim.steps if s.status in ("hit", "miss", DEPENDS) and s.instruction != "FROM"
    }


def mismatch(sc: Scenario, engine: str, truth: dict[str, Any], work: Path) -> str | None:
    """None when the model is exact for this scenario on this engine, else what differs."""
    got = predict(sc, engine, work)
    if "error" in truth:
        fails = isinstance(got, str) or any(s.reason and "the build fails" in s.reason for s in got.steps)
        return None if fails else f"the {truth['error']} build failed; the model predicts a build"
    if isinstance(got, str):
        return f"the model refuses ({got}); the builder built it"
    real, pred = truth["steps"], verdicts(got)
    diffs = []
    for line in sorted(set(real) | set(pred), key=int):
        r, p = real.get(line, "-"), pred.get(line, "-")
        if r != p and not (p == DEPENDS and r in ("hit", "miss")):
            step = next((s for s in got.steps if str(s.line) == line), None)
            why = f" ({step.reason})" if step is not None and step.reason else ""
            diffs.append(f"line {line}: real {r}, predicted {p}{why}")
    return "; ".join(diffs) or None


_TREES: list[tempfile.TemporaryDirectory[str]] = []


def _trees() -> Path:
    """One directory for the written scenario trees of this process: every engine scores the same trees."""
    if not _TREES:
        _TREES.append(tempfile.TemporaryDirectory(prefix="ls-corpus-"))
    return Path(_TREES[0].name)


def score(engine: str, ids: set[str] | None = None) -> tuple[int, list[tuple[str, str]], int]:
    """(scored, mismatches, not scored) of every recorded scenario of an engine (not scored: an unreadable
    log, or a RUN command that failed)."""
    truth = load_truth(engine)
    bad: list[tuple[str, str]] = []
    scored = unreadable = 0
    for sc in load_scenarios():
        rec = truth.get(sc.name)
        if rec is None or (ids is not None and sc.name not in ids):
            continue
        if "unreadable" in rec or runtime_failure(rec):
            unreadable += 1
            continue
        scored += 1
        why = mismatch(sc, engine, rec, _trees() / sc.name)
        if why:
            bad.append((sc.name, why))
    return scored, bad, unreadable


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default=",".join(ENGINES))
    ap.add_argument("-v", action="store_true")
    ns = ap.parse_args(argv)
    total_bad = 0
    for engine in ns.engine.split(","):
        scored, bad, unreadable = score(engine)
        total_bad += len(bad)
        ops = Counter(name.split("-", 1)[1].split(".")[0] for name, _ in bad)
        print(f"{engine}: {scored - len(bad)}/{scored} exact, {unreadable} not scored (a RUN failed, unreadable log)")
        if ns.v:
            for name, why in bad:
                print(f"  {name}: {why}")
        elif ops:
            print("  " + ", ".join(f"{k} {v}" for k, v in ops.most_common()))
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
