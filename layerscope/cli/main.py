"""The `layerscope` command: subcommands, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from layerscope import __version__
from layerscope.cli import cache, inspect
from layerscope.errors import LayerscopeError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: one line, exit 2
        sys.stderr.write(f"layerscope: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layerscope", description="Profile container images.")
    parser.add_argument("--version", action="version", version=f"layerscope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    inspect.register(sub)
    cache.register(sub)
    return parser


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, _print))
    except LayerscopeError as err:
        if debug:
            raise
        sys.stderr.write(f"layerscope: {err}\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("layerscope: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug: still one line unless --debug
        if debug:
            raise
        sys.stderr.write(f"layerscope: internal error: {type(err).__name__}: {err} (run with --debug for details)\n")
        return 3
