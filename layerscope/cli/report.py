"""`layerscope report REF -o FILE`: a matplotlib report, .png, .svg, .pdf or .html; with `--dockerfile` and
`--changed`, also what that change rebuilds and the bytes of the layers it makes again."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from layerscope.buildcache.builders.table import BUILDER_HELP, BUILDER_NAMES, DEFAULT_BUILDER
from layerscope.cli.common import add_build_context_flag, add_image_flags, emit_json, load_analysis, registry_args
from layerscope.cli.mplcache import matplotlib_config_dir
from layerscope.errors import UnsupportedError, UsageError
from layerscope.textsafe import log_line
from layerscope.units import fmt_size

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec, ChangeSpec


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="a report with figures: .png, .svg, .pdf, or .html (self-contained)")
    add_image_flags(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the report file; its suffix picks the format")
    p.add_argument(
        "--compare",
        metavar="REF",
        help="also compare with this image (e.g. the multi-stage build of the same service)",
    )
    cache = p.add_argument_group("what a change rebuilds (adds the rebuild-cost figure)")
    cache.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from")
    cache.add_argument("--context", metavar="DIR", help="its build context (default: .)")
    cache.add_argument("--changed", nargs="+", default=[], metavar="PATH", help="context paths changed since the build")
    cache.add_argument("--target", help="the stage the image is (default: the last one)")
    cache.add_argument("--builder", choices=BUILDER_NAMES, default=DEFAULT_BUILDER, help=BUILDER_HELP)
    add_build_context_flag(cache)
    cache.add_argument("--timings", metavar="FILE", help="the build's BuildKit --progress=rawjson log: step durations")
    p.set_defaults(func=run)


def cache_request(args: argparse.Namespace) -> tuple[BuildSpec, ChangeSpec] | None:
    """The build and the change to simulate and price with the image, or None without --dockerfile."""
    if not args.dockerfile:
        given = [f for f in ("context", "changed", "target", "timings", "build_context") if getattr(args, f)]
        if given:
            flag = given[0].replace("_", "-")
            raise UsageError(f"--{flag} describes a change to the build of --dockerfile: give --dockerfile too")
        return None
    if not args.changed:
        raise UsageError("--dockerfile needs --changed PATH... (the context paths changed since the image was built)")
    from layerscope.buildcache.inputs.contexts import parse_contexts
    from layerscope.buildcache.request import BuildSpec, ChangeSpec

    build = BuildSpec(
        context=args.context or ".",
        dockerfile=args.dockerfile,
        target=args.target,
        builder=args.builder,
        timings=args.timings,
        build_contexts=parse_contexts(args.build_context),
    )
    return build, ChangeSpec(changed=tuple(args.changed))


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    matplotlib_config_dir()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        # a dependency of layerscope: missing only from a broken or partial install
        raise UnsupportedError("report needs matplotlib (a broken install?): pip install matplotlib") from None
    from layerscope.analysis.compare import compare_analyses
    from layerscope.output.report.render import format_of, write_report

    format_of(args.output)  # a bad suffix fails before the image is read
    request = cache_request(args)
    simulation = None
    if request is not None:  # a bad Dockerfile or path fails before the image is read, too
        from layerscope.buildcache.features.change import simulate_change

        simulation = simulate_change(*request)
    registry = registry_args(args)  # reads --password-stdin once, for both images
    analysis = load_analysis(args, registry=registry)
    from layerscope.buildcache.features.bump import costs_or_history

    # the packages table's bump costs: through the Dockerfile when it fits the image
    analysis = costs_or_history(analysis, None if request is None else request[0])
    comparison = None
    if args.compare:
        comparison = compare_analyses(analysis, load_analysis(args, ref=args.compare, registry=registry))
    rebuild = None
    if simulation is not None:
        from layerscope.buildcache.pricing.imagemap import rebuild_cost

        rebuild = rebuild_cost(simulation, analysis)
    fmt = write_report(analysis, args.output, comparison, rebuild)
    size = os.path.getsize(args.output)
    if args.json:
        from layerscope.output.json import report_written_document

        emit_json(report_written_document(args.output, fmt, size))
    elif not args.quiet:
        sys.stderr.write(log_line(f"wrote {args.output} ({fmt}, {fmt_size(size)})") + "\n")
    return 0
