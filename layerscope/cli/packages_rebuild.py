"""`packages`: the flags of what bumping a package's pin costs (the build of `--dockerfile`, as for `cache`);
its text is output/text/bumps.py."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from layerscope.buildcache.builders.table import BUILDER_HELP, BUILDER_NAMES, DEFAULT_BUILDER, STORE_HELP, image_store
from layerscope.cli.common import add_build_context_flag, build_args
from layerscope.errors import UsageError

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec


def add_rebuild_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rebuild cost per package (what bumping its pin rebuilds; default: the image history)")
    g.add_argument("--dockerfile", "--file", dest="dockerfile", metavar="PATH",
                   help="the Dockerfile of the image (with --context alone: CONTEXT/Dockerfile)")  # fmt: skip
    g.add_argument("--context", metavar="DIR", help="its build context (default: .)")
    g.add_argument("--target", help="the stage the image is (default: the last one)")
    g.add_argument("--builder", choices=BUILDER_NAMES, default=DEFAULT_BUILDER, help=BUILDER_HELP)
    g.add_argument("--image-store", choices=("containerd", "overlay2"), help=STORE_HELP)
    g.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="a build arg of the build")
    add_build_context_flag(g)
    g.add_argument("--timings", metavar="FILE", help="the build's BuildKit --progress=rawjson log: step durations")


def rebuild_request(args: argparse.Namespace) -> BuildSpec | None:
    """The build to simulate bumps on, or None: the image history alone."""
    if not args.dockerfile and not args.context:
        given = [f for f in ("timings", "target", "build_arg", "build_context") if getattr(args, f)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UsageError(f"{flag} describes the build of --dockerfile: give --dockerfile (or --context) too")
        return None
    context = args.context or "."
    if not os.path.isdir(context):
        raise UsageError(f"--context {context}: no such directory")
    dockerfile = args.dockerfile or os.path.join(context, "Dockerfile")
    if not os.path.isfile(dockerfile):
        raise UsageError(f"--dockerfile {dockerfile}: no such file")
    if args.timings and not os.path.isfile(args.timings):
        raise UsageError(f"--timings {args.timings}: no such file")
    args_of_build = build_args(args.build_arg)
    from layerscope.buildcache.inputs.contexts import parse_contexts
    from layerscope.buildcache.request import BuildSpec  # the builder models: imported when a build is given

    store = image_store(args.builder, args.image_store)
    return BuildSpec(context=context, dockerfile=dockerfile, target=args.target, builder=args.builder,
                     build_args=args_of_build, image_store=store, timings=args.timings,
                     build_contexts=parse_contexts(args.build_context))  # fmt: skip
