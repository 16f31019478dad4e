"""`layerscope explore REF` (or `--from saved.json`): the Textual terminal UI; with `--dockerfile`, a Cache
view of what a change would rebuild."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from layerscope.buildcache.builders.table import BUILDER_HELP, BUILDER_NAMES, DEFAULT_BUILDER
from layerscope.cli.common import REF_HELP, add_build_context_flag, build_args
from layerscope.errors import UsageError
from layerscope.readfile import check_regular
from layerscope.sources.references import ANALYSIS_PREFIX
from layerscope.textsafe import log_line

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explore", help="explore layers, files and waste in a terminal UI")
    p.add_argument(
        "ref",
        nargs="?",
        help=REF_HELP,
    )
    p.add_argument("--from", dest="saved", metavar="FILE", help="a saved analysis (same as the REF analysis:FILE)")
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image (default: this host's)")
    p.add_argument("--verify", action="store_true", help="hash every uncompressed layer against its diff_id")
    p.add_argument("--no-cache", action="store_true", help="ignore the per-layer result cache")
    p.add_argument(
        "--manifest-only",
        action="store_true",
        help="read manifest and config only (the Files pane stays empty)",
    )
    # No --username/--password-stdin: explore's standard input is the terminal. Registry credentials
    # come from ~/.docker/config.json (and its helpers), as for every command.
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP and unverified TLS for the registry (loopback registries are always allowed)",
    )
    p.add_argument("--theme", choices=["dark", "light"], default="dark", help="colour theme (t switches it)")
    cache = p.add_argument_group("the Cache view (what a change would rebuild)")
    cache.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from")
    cache.add_argument("--context", metavar="DIR", help="its build context (default: .)")
    cache.add_argument("--target", help="the stage the image is (default: the last one)")
    cache.add_argument("--builder", choices=BUILDER_NAMES, default=DEFAULT_BUILDER, help=BUILDER_HELP)
    cache.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="a build arg of the build")
    add_build_context_flag(cache)
    cache.add_argument("--timings", metavar="FILE", help="the build's BuildKit rawjson log (Packages: seconds)")
    p.set_defaults(func=run)


def cache_request(args: argparse.Namespace) -> BuildSpec | None:
    """The Cache view's inputs (no change yet: the view asks for one), or None without --dockerfile."""
    if not args.dockerfile:
        for flag in ("context", "target", "timings", "build_context"):
            if getattr(args, flag):
                flag = flag.replace("_", "-")
                raise UsageError(f"--{flag} describes the build of --dockerfile: give --dockerfile too")
        return None
    from layerscope.buildcache.inputs.contexts import parse_contexts
    from layerscope.buildcache.request import BuildSpec

    args_of_build = build_args(args.build_arg)
    if not os.path.exists(args.dockerfile):
        raise UsageError(f"--dockerfile {args.dockerfile}: no such file")
    check_regular(args.dockerfile, "--dockerfile")  # a FIFO or a device: its kind, not "no such file"
    context = args.context or "."
    if not os.path.isdir(context):
        raise UsageError(f"--context {context}: no such directory")
    if args.timings and not os.path.exists(args.timings):
        raise UsageError(f"--timings {args.timings}: no such file")
    if args.timings:
        check_regular(args.timings, "--timings")
    return BuildSpec(context=context, dockerfile=args.dockerfile, target=args.target, builder=args.builder,
                     build_args=args_of_build, timings=args.timings,
                     build_contexts=parse_contexts(args.build_context))  # fmt: skip


def reference(args: argparse.Namespace) -> str:
    if args.saved and args.ref:
        raise UsageError("give either REF or --from FILE, not both")
    if args.saved:
        return ANALYSIS_PREFIX + str(args.saved)
    if not args.ref:
        raise UsageError("explore needs an image reference (or --from FILE)")
    return str(args.ref)


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    ref = reference(args)
    cache = cache_request(args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("explore needs a terminal; for scripts use `layerscope inspect --json`")
    from layerscope.tui import make_app  # Textual loads only for this command

    app = make_app(
        ref,
        platform=args.platform,
        verify=args.verify,
        manifest_only=args.manifest_only,
        use_cache=not args.no_cache,
        insecure=args.insecure,
        theme=args.theme,
        cache=cache,
    )
    app.run()
    if app.failure is not None:  # shown in the UI; repeated on stderr for the shell's scrollback
        sys.stderr.write(log_line(f"layerscope: {app.failure}") + "\n")
    return int(app.return_code or 0)
