"""`layerscope cache`: which build steps a change invalidates, and why."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from layerscope.cache.model import CacheSimulation
from layerscope.cache.simulate import CacheRequest, simulate_cache
from layerscope.cli.common import emit_json
from layerscope.errors import UsageError

SCHEMA = "layerscope.cache/1"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache", help="simulate which build steps a change invalidates", description=__doc__)
    p.add_argument("--context", default=".", help="the build context directory (default: .)")
    p.add_argument("--file", "-f", dest="dockerfile", help="the Dockerfile (default: CONTEXT/Dockerfile)")
    p.add_argument("--target", help="the stage to build (default: the last one)")
    p.add_argument("--builder", choices=("buildkit", "classic", "buildah"), default="buildkit")
    p.add_argument("--image-store", choices=("containerd", "overlay2"), default="containerd",
                   help="Docker's image store (BuildKit: COPY --link is a plain COPY on overlay2)")  # fmt: skip
    p.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="a build arg of this build")
    change = p.add_argument_group("the change (at least one)")
    change.add_argument("--against", metavar="DIR", help="the context as it was at the last build")
    change.add_argument(
        "--git", metavar="REV[..REV2]", help="the context at REV against the working tree, or REV..REV2"
    )
    change.add_argument(
        "--changed", nargs="+", default=[], metavar="PATH", help="context paths changed since the last build"
    )
    change.add_argument("--old-build-arg", action="append", default=[], metavar="K[=V]",
                        help="a build arg's value at the last build (K alone: it was not set)")  # fmt: skip
    change.add_argument("--base-changed", action="append", nargs="?", const="*", default=[], metavar="IMAGE",
                        help="a base image was re-published (all of them without IMAGE)")  # fmt: skip
    p.add_argument("--reproducible", action="append", default=[], metavar="STAGE|LINE",
                   help="a stage or step whose output is byte-identical for identical inputs")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=run)


def _pairs(items: list[str], flag: str, allow_bare: bool = False) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key or (not eq and not allow_bare):
            raise UsageError(f"{flag} {item!r}: expected K=V")
        out[key] = value if eq else None
    return out


def to_json(sim: CacheSimulation) -> dict[str, Any]:
    s = sim.summary
    return {
        "schema": SCHEMA,
        "builder": sim.builder,
        "target": sim.target,
        "image_store": sim.image_store,
        "dockerfile": sim.dockerfile,
        "context": sim.context,
        "change": sim.change,
        "steps": [
            {
                "stage": st.stage,
                "line": st.line,
                "instruction": st.instruction,
                "text": st.text,
                "status": st.status,
                "reason": st.reason,
                "cause": None if st.cause is None else {"kind": st.cause.kind, "name": st.cause.name},
            }
            for st in sim.steps
        ],
        "summary": {
            "first_miss": s.first_miss,
            "missed_steps": s.missed_steps,
            "rebuilt_layers": s.rebuilt_layers,
            "rebuilt_bytes": s.rebuilt_bytes,
            "rebuilt_compressed_bytes": s.rebuilt_compressed_bytes,
            "estimated_seconds": s.estimated_seconds,
            "seconds_source": s.seconds_source,
        },
        "notes": list(sim.notes),
    }


def render_text(sim: CacheSimulation, out: Callable[[str], None]) -> None:
    store = f", {sim.image_store} image store" if sim.image_store else ""
    out(f"{sim.builder}{store}, target {sim.target}; change: {sim.change}")
    for st in sim.steps:
        first = st.text.splitlines()[0] if st.text else ""
        first = first if len(first) <= 60 else first[:57] + "..."
        why = f"  ({st.reason})" if st.reason and st.status in ("miss", "hit") else ""
        out(f"{st.status:>7}  {st.line:>4}  {st.stage:<12} {first}{why}")
    s = sim.summary
    first_miss = "none" if s.first_miss is None else f"line {s.first_miss}"
    out(f"{s.missed_steps} step(s) miss; first miss: {first_miss}")


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    req = CacheRequest(
        context=args.context,
        dockerfile=args.dockerfile,
        target=args.target,
        builder=args.builder,
        build_args={k: v or "" for k, v in _pairs(args.build_arg, "--build-arg").items()},
        image_store=args.image_store,
        against=args.against,
        git=args.git,
        changed=tuple(args.changed),
        old_build_args=_pairs(args.old_build_arg, "--old-build-arg", allow_bare=True),
        base_changed=tuple(args.base_changed),
        reproducible=tuple(args.reproducible),
    )
    sim = simulate_cache(req)
    if args.json:
        emit_json(to_json(sim))
    else:
        render_text(sim, out)
    return 0
