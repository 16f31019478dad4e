"""`layerscope inspect REF`: layers, history, sizes, waste, efficiency."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from layerscope.analysis.serialize import inspect_document
from layerscope.cli.common import add_image_flags, emit_json, load_analysis, save_analysis
from layerscope.output.text.inspect import render


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inspect", help="layers, history, sizes, wasted bytes, efficiency")
    add_image_flags(p)
    p.add_argument("--save", metavar="FILE", help="also write the full analysis (reusable as analysis:FILE)")
    p.add_argument(
        "--secrets",
        action="store_true",
        help="also scan file contents for secrets (the first 64 KiB of each file up to 8 MiB; reads more of "
        "every layer). Forbidden paths and secrets in Env and history are always listed",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    # inspect shows no packages: they are computed only for --save (the full analysis)
    analysis = load_analysis(
        args, need_records=bool(args.save), need_packages=bool(args.save), scan_secrets=args.secrets
    )
    if args.save:
        save_analysis(args.save, analysis)
    if args.json:
        emit_json(inspect_document(analysis))
    else:
        for line in render(analysis):
            out(line)
    return 0
