"""The `layerscope` command: subcommands, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from layerscope import oneshot
from layerscope._version import __version__
from layerscope.errors import LayerscopeError
from layerscope.textsafe import log_line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: one line, exit 2
        _error(message)
        raise SystemExit(2)


# Command name -> module under layerscope.cli. Only the chosen command's module is imported,
# so that a warm `inspect` does not pay for the imports of `check` or `explore`.
COMMANDS = {
    "inspect": "inspect",
    "packages": "packages",
    "cache": "cache",
    "check": "check",
    "compare": "compare",
    "fleet": "fleet",
    "report": "report",
    "explore": "explore",
    "cache-dir": "cache_dir",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="layerscope", description="Profile container images.")
    parser.add_argument("--version", action="version", version=f"layerscope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    for name, module in COMMANDS.items():
        if only is None or only == name:
            importlib.import_module(f"layerscope.cli.{module}").register(sub)
    return parser


def _print(line: str) -> None:
    """Every line of human-readable output: image text in it reaches the terminal escaped, and
    no CI runner reads a command of its own out of it (textsafe.log_line)."""
    sys.stdout.write(log_line(line) + "\n")


def _error(message: str, details: Sequence[str] = ()) -> None:
    """`layerscope: MESSAGE` on stderr, escaped (a message quotes names, paths, image text)."""
    lines = [f"layerscope: {message}", *(f"  {d}" for d in details)]
    sys.stderr.write("".join(log_line(line) + "\n" for line in lines))


def run() -> NoReturn:
    """The console entry point: a one-shot command runs without the cyclic collector.

    Reading allocates a few objects per file and frees almost none; with the collector
    back on, its first pass rescans all of them (tens of ms on a 50k-file image) for
    cycles there are none of, and the process is about to exit anyway. The TUI, which
    keeps running, keeps it (and a normal exit).
    """
    if "explore" in sys.argv[1:]:
        raise SystemExit(main())
    gc.disable()
    oneshot.enable()
    code = main()
    # Tearing down the interpreter frees every record one by one (tens of ms on a large
    # image) for a process that is ending: flush what was written and leave.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args.func(args, _print))
    except LayerscopeError as err:
        if debug:
            raise
        _error(err.message, err.details)
        return err.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug: still one line unless --debug
        if debug:
            raise
        _error(f"internal error: {type(err).__name__}: {err} (run with --debug for details)")
        return 3
