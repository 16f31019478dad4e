"""`layerscope cache` output: the JSON document (layerscope.cache/1) and the text report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layerscope.buildcache.pricing.costs import HISTORY_ESTIMATE, RAWJSON
from layerscope.buildcache.results import Advice, CacheSimulation, CacheSummary, CommitResult, ReplayTotals, StepResult
from layerscope.units import fmt_size

SCHEMA = "layerscope.cache/1"
Out = Callable[[str], None]


def _step(st: StepResult) -> dict[str, Any]:
    return {
        "stage": st.stage,
        "line": st.line,
        "instruction": st.instruction,
        "text": st.text,
        "status": st.status,
        "reason": st.reason,
        "cause": None if st.cause is None else {"kind": st.cause.kind, "name": st.cause.name},
        "layers": None if st.layers is None else list(st.layers),
        "bytes": st.bytes,
        "compressed_bytes": st.compressed_bytes,
        "seconds": None if st.seconds is None else round(st.seconds, 3),
    }


def _summary(s: CacheSummary) -> dict[str, Any]:
    return {
        "first_miss": s.first_miss,
        "missed_steps": s.missed_steps,
        "depends_steps": s.depends_steps,
        "rebuilt_layers": s.rebuilt_layers,
        "rebuilt_bytes": s.rebuilt_bytes,
        "rebuilt_compressed_bytes": s.rebuilt_compressed_bytes,
        "estimated_seconds": s.estimated_seconds,
        "seconds_source": s.seconds_source,
    }


def _totals(t: ReplayTotals) -> dict[str, Any]:
    return {
        "commits": t.commits,
        "hits": t.hits,
        "misses": t.misses,
        "hit_rate": t.hit_rate,
        "full_hits": t.full_hits,
        "rebuilt_bytes": t.rebuilt_bytes,
        "rebuilt_compressed_bytes": t.rebuilt_compressed_bytes,
        "estimated_seconds": t.estimated_seconds,
        "seconds_source": t.seconds_source,
    }


def _commit(c: CommitResult) -> dict[str, Any]:
    return {
        "commit": c.commit,
        "subject": c.subject,
        "changed": list(c.changed),
        "error": c.error,
        "steps": [_step(s) for s in c.steps],
        "summary": _summary(c.summary),
    }


def _advice(a: Advice) -> dict[str, Any]:
    return {
        "what": a.what,
        "why": a.why,
        "lines": list(a.lines),
        "dockerfile": a.dockerfile,
        "dockerignore": a.dockerignore,
        "ignore_added": list(a.ignore_added),
        "totals": _totals(a.totals),
        "before": _totals(a.before),
    }


def to_json(sim: CacheSimulation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "builder": sim.builder,
        "target": sim.target,
        "image_store": sim.image_store,
        "dockerfile": sim.dockerfile,
        "context": sim.context,
        "change": sim.change,
        "steps": [_step(st) for st in sim.steps],
        "summary": _summary(sim.summary),
        "notes": list(sim.notes),
    }
    if sim.commits is not None and sim.totals is not None:
        doc["commits"] = [_commit(c) for c in sim.commits]
        doc["totals"] = _totals(sim.totals)
    if sim.advice is not None:
        doc["advice"] = [_advice(a) for a in sim.advice]
    return doc


def seconds_label(source: str | None) -> str:
    if source == RAWJSON:
        return "estimate: the step durations of the BuildKit rawjson log; parallel stages take less wall time"
    if source == HISTORY_ESTIMATE:
        return "rough estimate: gaps between the image's history timestamps"
    return ""


def _cost_line(s: CacheSummary, stored_as: str) -> list[str]:
    out = []
    if s.rebuilt_bytes is not None:
        out.append(
            f"rebuilds {s.rebuilt_layers} layer(s), {fmt_size(s.rebuilt_bytes)} "
            f"({fmt_size(s.rebuilt_compressed_bytes)} {stored_as}, pushed and pulled again); "
            "measured on the last build's layers"
        )
    if s.estimated_seconds is not None:
        out.append(f"about {s.estimated_seconds:.1f} s to rebuild ({seconds_label(s.seconds_source)})")
    elif s.rebuilt_bytes is not None and s.missed_steps:
        out.append("time unknown: give --timings a BuildKit rawjson log (BuildKit's history times are no durations)")
    return out


def _step_line(st: StepResult) -> str:
    first = st.text.splitlines()[0] if st.text else ""
    first = first if len(first) <= 60 else first[:57] + "..."
    why = f"  ({st.reason})" if st.reason and st.status in ("miss", "hit", "depends") else ""
    cost = []
    if st.status == "miss" and st.bytes is not None:
        cost.append(fmt_size(st.bytes))
    if st.status == "miss" and st.seconds is not None:
        cost.append(f"{st.seconds:.1f} s")
    extra = f"  [{', '.join(cost)}]" if cost else ""
    return f"{st.status:>7}  {st.line:>4}  {st.stage:<12} {first}{why}{extra}"


def _totals_text(t: ReplayTotals, stored_as: str, out: Out, indent: str = "") -> None:
    rate = "n/a" if t.hit_rate is None else f"{t.hit_rate:.0%}"
    out(f"{indent}hit rate {rate} ({t.hits} of {t.hits + t.misses} cache steps hit) over {t.commits} commit(s); "
        f"{t.full_hits} built entirely from the cache")  # fmt: skip
    if t.rebuilt_bytes is not None:
        out(f"{indent}rebuilt {fmt_size(t.rebuilt_bytes)} ({fmt_size(t.rebuilt_compressed_bytes)} {stored_as})")
    if t.estimated_seconds is not None:
        out(f"{indent}about {t.estimated_seconds:.1f} s of building ({seconds_label(t.seconds_source)})")


def render_text(sim: CacheSimulation, out: Out) -> None:
    store = f", {sim.image_store} image store" if sim.image_store else ""
    out(f"{sim.builder}{store}, target {sim.target}; change: {sim.change}")
    if sim.commits is not None and sim.totals is not None:
        for c in sim.commits:
            s = c.summary
            if c.error is not None:
                out(f"{c.commit[:10]}  error: {c.error}  {c.subject[:50]}")
                continue
            first = "-" if s.first_miss is None else f"line {s.first_miss}"
            size = "" if s.rebuilt_bytes is None else f"  {fmt_size(s.rebuilt_bytes):>9}"
            secs = "" if s.estimated_seconds is None else f"  ~{s.estimated_seconds:.1f} s"
            out(f"{c.commit[:10]}  {s.missed_steps:>2} miss, first {first:<9}{size}{secs}  {c.subject[:50]}")
        _totals_text(sim.totals, sim.stored_as, out)
    else:
        for st in sim.steps:
            out(_step_line(st))
        s = sim.summary
        first_miss = "none" if s.first_miss is None else f"line {s.first_miss}"
        depends = f"; {s.depends_steps} step(s) depend on bytes re-run steps write" if s.depends_steps else ""
        out(f"{s.missed_steps} step(s) miss; first miss: {first_miss}{depends}")
        for line in _cost_line(s, sim.stored_as):
            out(line)
    for a in sim.advice or ():
        out("")
        out(f"advice: {a.what}")
        out(f"  why: {a.why}")
        out("  rewritten Dockerfile:")
        for line in a.dockerfile.splitlines():
            out(f"    {line}")
        if a.ignore_added:
            out(f"  .dockerignore: add {', '.join(a.ignore_added)}")
        out("  replay as it was:")
        _totals_text(a.before, sim.stored_as, out, "    ")
        out("  replay with the rewrite:")
        _totals_text(a.totals, sim.stored_as, out, "    ")
    for note in sim.notes:
        out(f"note: {note}")
