"""`layerscope explore REF` (or `--from saved.json`): the Textual terminal UI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from layerscope.api import ANALYSIS_PREFIX
from layerscope.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explore", help="explore layers, files and waste in a terminal UI")
    p.add_argument(
        "ref",
        nargs="?",
        help="image reference: docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, "
        "docker-daemon:NAME[:TAG], analysis:FILE, a bare path or a bare image name",
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
    p.add_argument("--theme", choices=["dark", "light"], default="dark", help="colour theme (t switches it)")
    p.set_defaults(func=run)


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
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("explore needs a terminal; for scripts use `layerscope inspect --json`")
    from layerscope.tui import make_app  # Textual loads only for this command

    app = make_app(ref, platform=args.platform, verify=args.verify, manifest_only=args.manifest_only, theme=args.theme)
    app.run()
    if app.failure is not None:  # shown in the UI; repeated on stderr for the shell's scrollback
        sys.stderr.write(f"layerscope: {app.failure}\n")
    return int(app.return_code or 0)
