"""`layerscope compare A B`: two images side by side (e.g. single-stage vs multi-stage)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from layerscope.analysis.compare import compare_analyses
from layerscope.cli.common import REF_HELP, add_read_flags, emit_json, load_analysis, registry_args
from layerscope.output.json import compare_document
from layerscope.output.text.compare import render


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare", help="two images side by side: shared layers, per-category and per-package differences, the saving"
    )
    p.add_argument("a", metavar="A", help="the image compared against (e.g. the single-stage build); " + REF_HELP)
    p.add_argument("b", metavar="B", help="the other image (e.g. the multi-stage build)")
    add_read_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    registry = registry_args(args)  # reads --password-stdin once, for both images
    a = load_analysis(args, need_records=False, ref=args.a, registry=registry)  # summaries suffice
    c = compare_analyses(a, load_analysis(args, need_records=False, ref=args.b, registry=registry))
    if args.json:
        emit_json(compare_document(c))
    else:
        for line in render(c):
            out(line)
    return 0
