"""`layerscope cache`: which build steps a change invalidates, and why."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from layerscope.buildcache.builders.table import BUILDER_HELP, BUILDER_NAMES, DEFAULT_BUILDER, STORE_HELP, image_store
from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.features.gitlog import simulate_replay
from layerscope.buildcache.inputs.contexts import parse_contexts
from layerscope.buildcache.request import BuildSpec, ChangeSpec, ReplaySpec
from layerscope.cli.common import add_build_context_flag, build_args, emit_json, key_values
from layerscope.errors import UsageError
from layerscope.output.cache import render_text, to_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache", help="simulate which build steps a change invalidates", description=__doc__)
    p.add_argument("--context", default=".", help="the build context directory (default: .)")
    p.add_argument("--file", "-f", dest="dockerfile", help="the Dockerfile (default: CONTEXT/Dockerfile)")
    p.add_argument("--target", help="the stage to build (default: the last one)")
    p.add_argument("--builder", choices=BUILDER_NAMES, default=DEFAULT_BUILDER, help=BUILDER_HELP)
    p.add_argument("--image-store", choices=("containerd", "overlay2"), help=STORE_HELP)
    p.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="a build arg of this build")
    add_build_context_flag(p)
    change = p.add_argument_group("the change (at least one)")
    change.add_argument("--against", metavar="DIR", help="the context as it was at the last build")
    change.add_argument(
        "--git", metavar="REV[..REV2]", help="the context at REV against the working tree, or REV..REV2"
    )
    change.add_argument("--changed", nargs="+", default=[], metavar="PATH",
                        help="context paths changed since the last build (a path in a directory --build-context:"
                        " that context's file)")  # fmt: skip
    change.add_argument("--old-build-arg", action="append", default=[], metavar="K[=V]",
                        help="a build arg's value at the last build (K alone: it was not set)")  # fmt: skip
    change.add_argument("--base-changed", action="append", nargs="?", const="*", default=[], metavar="IMAGE",
                        help="a base image, or an image --build-context NAME, was re-published (all of them without"
                        " IMAGE)")  # fmt: skip
    change.add_argument("--old-build-context", action="append", default=[], metavar="NAME=VALUE",
                        help="a --build-context as it was at the last build (its earlier DIR or image)")  # fmt: skip
    p.add_argument("--reproducible", action="append", default=[], metavar="STAGE|LINE",
                   help="a stage or step whose output is byte-identical for identical inputs")  # fmt: skip
    costs = p.add_argument_group("costs")
    costs.add_argument("--image", metavar="REF", help="the image of the last build: the layers and bytes of each step")
    costs.add_argument("--timings", metavar="FILE", help="a BuildKit --progress=rawjson log: each step's duration")
    history = p.add_argument_group("history replay")
    history.add_argument(
        "--git-log", type=int, metavar="N", help="replay the last N commits of the context's repository"
    )
    history.add_argument(
        "--parent-only", action="store_true", help="each commit against its parent's build only (a CI cache)"
    )
    history.add_argument("--advise", action="store_true",
                         help="with --git-log: propose a rewrite of the Dockerfile and replay it too")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    build = BuildSpec(
        context=args.context,
        dockerfile=args.dockerfile,
        target=args.target,
        builder=args.builder,
        build_args=build_args(args.build_arg),
        image_store=image_store(args.builder, args.image_store),
        reproducible=tuple(args.reproducible),
        build_contexts=parse_contexts(args.build_context),
        image=args.image,
        timings=args.timings,
    )
    change = ChangeSpec(
        against=args.against,
        git=args.git,
        changed=tuple(args.changed),
        old_build_args=key_values(args.old_build_arg, "--old-build-arg", allow_bare=True),
        base_changed=tuple(args.base_changed),
        old_build_contexts=parse_contexts(args.old_build_context, "--old-build-context"),
    )
    if args.git_log is None:
        if args.parent_only or args.advise:
            raise UsageError("--parent-only and --advise go with --git-log N")
        sim = simulate_change(build, change)
    else:
        change.refuse_with_replay()
        sim = simulate_replay(build, ReplaySpec(args.git_log, args.parent_only, args.advise))
    if args.json:
        emit_json(to_json(sim))
    else:
        render_text(sim, out)
    return 0
