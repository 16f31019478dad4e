"""`layerscope fleet`: many images on Dask. Exit 0; 1 when a budget failed; 2 when every
image failed (or on a usage error)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable

from layerscope.cli.common import emit_json, read_password
from layerscope.cli.mplcache import matplotlib_config_dir
from layerscope.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fleet",
        help="many images at once on Dask: shared layers, heavy packages, savings, budgets (Parquet + HTML)",
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="image references, as `inspect` takes them")
    p.add_argument("--from-file", metavar="FILE", help="more references, one a line (# comments allowed)")
    p.add_argument("--catalog", metavar="docker://HOST[/PREFIX]", help="every tag of every repository a registry lists")
    p.add_argument("--tags", metavar="REGEX", help="with --catalog: tags matching this regular expression (searched)")
    p.add_argument("--latest", metavar="N", type=int, help="with --catalog: the N highest tags per repository "
                   "(natural version order: 1.10 after 1.9)")  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://HOST:PORT) whose workers have "
                   "layerscope installed (default: $DASK_SCHEDULER_ADDRESS, else a local cluster)")  # fmt: skip
    p.add_argument(
        "--workers", type=int, metavar="N", help="worker processes of the local cluster (default: one per CPU)"
    )
    p.add_argument("--output", metavar="DIR", help="write the tables as Parquet and report.html into DIR")
    p.add_argument("--config", metavar="FILE", help="`check` budgets (pyproject.toml, .layerscope.toml or .dive-ci)")
    p.add_argument("--platform", help="os/arch[/variant] to pick from multi-platform images (default: this host's)")
    p.add_argument("--verify", action="store_true", help="hash every uncompressed layer against its diff_id")
    p.add_argument("--no-cache", action="store_true", help="ignore the per-layer result cache (it is still filled)")
    p.add_argument("--username", help="registry user name (the password comes from --password-stdin)")
    p.add_argument("--password-stdin", action="store_true", help="read the registry password or token from stdin")
    p.add_argument("--insecure", action="store_true", help="allow plain HTTP and unverified TLS for the registry")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout: images[] and totals")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def quiet_dask() -> None:
    """The client logs rescheduled tasks (a lost worker: "Couldn't gather 1 keys,
    rescheduling") as warnings on stderr: the run handles them, and --json promises a quiet
    stderr. Importing distributed sets its loggers' own levels (distributed.client at
    WARNING), so each is lowered after that import, not just the parent."""
    import distributed  # noqa: F401 (for its logging set-up, which this overrides)

    names = [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    for name in ("distributed", *names):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"distributed(\..*)?$")


class Terminated(BaseException):
    """SIGTERM, raised on the main thread: not an Exception, so no `except Exception` on the
    way (Dask's included) takes it for an error of its own."""


def _stop(signum: int, frame: object) -> None:
    # The run is abandoned: what the cluster's teardown logs about the requests it cuts short
    # (a gather's closed stream, keys already forgotten) is no news, and would be tracebacks.
    logging.disable(logging.CRITICAL)
    if signum == signal.SIGTERM:
        raise Terminated
    raise KeyboardInterrupt


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """Ctrl-C, and SIGTERM (a CI job cancelled, `kill`, a container stopped), end the run the
    same way: the cluster is closed on the way out (a local one's worker processes stopped, a
    remote scheduler's tasks released), no output is written, one line on stderr; exit 130
    (main's `interrupted`) or 143."""
    if threading.current_thread() is not threading.main_thread():
        return _run(args, out)  # signal handlers belong to the main thread (an embedding caller's)
    logging_disabled = logging.root.manager.disable  # _stop silences logging: an embedding caller gets it back
    previous = {
        sig: signal.signal(sig, _stop)
        for sig in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler)  # not one ignored on purpose
    }
    try:
        return _run(args, out)
    except Terminated:
        sys.stderr.write("layerscope: fleet: terminated\n")
        return 128 + signal.SIGTERM
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logging.disable(logging_disabled)


def _run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    from layerscope.fleet import parquet, runner, targets
    from layerscope.fleet.progress import Bar
    from layerscope.fleet.records import Settings
    from layerscope.sources.registry.options import RegistryOptions

    quiet_dask()
    if args.from_file == "-" and args.password_stdin:
        raise UsageError("--from-file - and --password-stdin both want standard input")
    options = RegistryOptions.create(args.username, read_password(args), args.insecure)
    matplotlib_config_dir()  # the HTML report draws its figures with matplotlib
    if args.output:
        parquet.prepare(args.output)
    chosen = targets.collect(args.refs, args.from_file, args.catalog, options, args.tags, args.latest)
    settings = Settings(args.platform, args.verify, not args.no_cache, options)
    bar = Bar(sys.stderr, enabled=not (args.quiet or args.json))
    try:
        result = runner.run(
            chosen, settings, runner.Cluster(args.scheduler, args.workers), args.config, bar,
            on_dashboard=lambda link: bar.note(f"Dask dashboard: {link}"),  # the scheduler's text: note() escapes it
        )  # fmt: skip
    finally:
        bar.close()
    from layerscope.output.fleet import report, text
    from layerscope.output.fleet.document import document

    if args.output:
        parquet.write_tables(args.output, result)
        parquet.write_bytes(args.output, "report.html", report.page(result).encode())
    if args.json:
        emit_json(document(result))
    else:
        for line in text.lines(result):
            out(line)
        if args.output:
            out("")  # each line goes through the CLI's escaping: a "\n" inside one would show as `\n`
            out(f"Wrote {len(result.items())} Parquet tables and report.html to {args.output}")
    totals = result.totals
    if totals.images and totals.failed_images == totals.images:
        # The output above names each image's reason; stderr still says, in one line, why exit 2.
        sys.stderr.write(f"layerscope: fleet: none of the {totals.images} image(s) could be read (reasons above)\n")
        return 2
    return 1 if (result.budget["status"] == "fail").any() else 0
