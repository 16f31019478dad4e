"""`layerscope cache-dir [--prune] [--max-size SIZE]`: show and trim the per-layer cache."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from layerscope.cli.common import emit_json
from layerscope.layers.layercache import DEFAULT_MAX_BYTES, LayerCache
from layerscope.units import fmt_size, parse_size


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache-dir", help="show and trim the per-layer result cache")
    p.add_argument("--prune", action="store_true", help="evict least recently used entries down to --max-size")
    p.add_argument("--max-size", default=None, help=f"size cap for --prune (default {fmt_size(DEFAULT_MAX_BYTES)})")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    cache = LayerCache()
    removed = freed = 0
    if args.max_size is not None and not args.prune:
        out("note: --max-size only applies with --prune")
    if args.prune:
        cap = parse_size(args.max_size) if args.max_size is not None else DEFAULT_MAX_BYTES
        removed, freed = cache.prune(cap)
    stats = cache.stats()
    if args.json:
        from layerscope.output.json import cache_dir_document  # the command's start stays light

        emit_json(cache_dir_document(stats, removed, freed))
        return 0
    from layerscope.output.text.cache_dir import render

    for line in render(stats, (removed, freed) if args.prune else None):
        out(line)
    return 0
