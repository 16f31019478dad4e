"""`layerscope packages REF`: bytes per Python and OS package, per layer; what is removable."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace

from layerscope.analysis.state import state_of
from layerscope.cli.common import add_image_flags, emit_json, load_analysis, save_analysis
from layerscope.cli.packages_rebuild import add_rebuild_flags, rebuild_request
from layerscope.model import Analysis
from layerscope.output.json import packages_document
from layerscope.output.text.packages import TOP, render


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("packages", help="bytes per Python and OS package, per layer, and what is removable")
    add_image_flags(p)
    p.add_argument("--save", metavar="FILE", help="also write the full analysis (reusable as analysis:FILE)")
    p.add_argument("--all", action="store_true", help=f"list every package (default: the {TOP} largest)")
    p.add_argument("--purl", action="store_true", help="add each package's package URL (purl; always in --json)")
    add_rebuild_flags(p)
    p.set_defaults(func=run)


def with_packages(a: Analysis) -> Analysis:
    """A saved analysis from before packages were part of it: compute them from its records."""
    if a.packages is not None or a.image.manifest_only:
        return a
    state = state_of(a)  # None when a layer's record is missing
    return a if state is None else replace(a, packages=state.package_report())


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    request = rebuild_request(args)  # bad flags fail before the image is read
    analysis = with_packages(load_analysis(args, need_records=bool(args.save)))
    if args.save:
        save_analysis(args.save, analysis)
    from layerscope.buildcache.features.bump import package_costs

    analysis = package_costs(analysis, request)
    if args.json:
        emit_json(packages_document(analysis))
    else:
        for line in render(analysis, None if args.all else TOP, purl=args.purl):
            out(line)
    return 0
