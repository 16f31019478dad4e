"""`layerscope report REF -o FILE`: a matplotlib report, .png, .svg, .pdf or .html."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from layerscope.cli.common import add_image_flags, emit_json, load_analysis, registry_args
from layerscope.errors import UnsupportedError
from layerscope.units import fmt_size

SCHEMA = "layerscope.report/1"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="a report with figures: .png, .svg, .pdf, or .html (self-contained)")
    add_image_flags(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the report file; its suffix picks the format")
    p.add_argument(
        "--compare",
        metavar="REF",
        help="also compare with this image (e.g. the multi-stage build of the same service)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UnsupportedError("report needs matplotlib: pip install 'layerscope[report]'") from None
    from layerscope.analysis.compare import compare_analyses
    from layerscope.report.render import format_of, write_report

    format_of(args.output)  # a bad suffix fails before the image is read
    registry = registry_args(args)  # reads --password-stdin once, for both images
    analysis = load_analysis(args, registry=registry)
    comparison = None
    if args.compare:
        comparison = compare_analyses(analysis, load_analysis(args, ref=args.compare, registry=registry))
    fmt = write_report(analysis, args.output, comparison)
    size = os.path.getsize(args.output)
    if args.json:
        emit_json({"schema": SCHEMA, "output": args.output, "format": fmt, "bytes": size})
    elif not args.quiet:
        sys.stderr.write(f"wrote {args.output} ({fmt}, {fmt_size(size)})\n")
    return 0
