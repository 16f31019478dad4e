"""What every image-reading command shares: flags, opening the image, error handling."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from layerscope.api import analyze
from layerscope.errors import BadReferenceError, UsageError
from layerscope.model import Analysis, LayerRecord
from layerscope.sources.references import reference_help
from layerscope.sources.registry.secret import Secret
from layerscope.textsafe import json_dumps, log_text
from layerscope.units import fmt_size

MAX_PASSWORD = 64 << 10  # registry tokens are a few kB
REF_HELP = reference_help()  # from the sources table (sources/references.py)


def add_image_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help=REF_HELP)
    add_read_flags(p)


def add_read_flags(p: argparse.ArgumentParser) -> None:
    """The flags of every image-reading command, without the reference(s)."""
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image (default: this host's)")
    p.add_argument("--verify", action="store_true", help="hash every uncompressed layer against its diff_id")
    p.add_argument("--no-cache", action="store_true", help="ignore the per-layer result cache")
    p.add_argument(
        "--manifest-only",
        action="store_true",
        help="read manifest and config only; figures that need layer contents are null",
    )
    p.add_argument("--username", help="registry user name (the password comes from --password-stdin)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the registry password or token from standard input"
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP and unverified TLS for the registry (loopback registries are always allowed)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


class Progress:
    """Layers read so far, on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bytes = 0

    def __call__(self, done: int, total: int, record: LayerRecord) -> None:
        if not self.enabled:
            return
        self.bytes += record.uncompressed_bytes or record.size
        end = "\n" if done == total else ""
        sys.stderr.write(f"\rread {done}/{total} layers, {fmt_size(self.bytes)} uncompressed{end}")
        sys.stderr.flush()


def read_password(args: argparse.Namespace) -> Secret | None:
    """--password-stdin: the whole of stdin, minus the line end (as `docker login` reads it)."""
    if not args.password_stdin:
        if args.username:
            raise UsageError("--username needs --password-stdin (the password is never taken as an argument)")
        return None
    if not args.username:
        raise UsageError("--password-stdin needs --username")
    password = sys.stdin.read(MAX_PASSWORD + 1)  # bounded: stdin may be /dev/zero
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"--password-stdin: more than {MAX_PASSWORD} characters on standard input")
    password = password.rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input was empty")
    return Secret(password)


def registry_args(args: argparse.Namespace) -> dict[str, Any]:
    """The registry keyword arguments of api.analyze from the shared flags (stdin read once)."""
    return {"username": args.username, "password": read_password(args), "insecure": args.insecure}


def load_analysis(
    args: argparse.Namespace,
    need_records: bool = True,
    ref: str | None = None,
    need_packages: bool = True,
    registry: dict[str, Any] | None = None,
    scan_secrets: bool = False,
) -> Analysis:
    """`ref` overrides args.ref (commands reading two images); `registry` is registry_args(args)
    when the caller already read stdin for it."""
    return analyze(
        args.ref if ref is None else ref,
        platform=args.platform,
        verify=args.verify,
        manifest_only=args.manifest_only,
        progress=Progress(not args.quiet),
        use_cache=not args.no_cache,
        need_records=need_records,
        need_packages=need_packages,
        scan_secrets=scan_secrets,
        **(registry if registry is not None else registry_args(args)),
    )


def emit_command(line: str) -> None:
    """A CI workflow command layerscope means the runner to act on (`::error title=...::...`),
    built with textsafe's gh_* escapes; every other line goes out through textsafe.log_line,
    which would disarm it."""
    sys.stdout.write(log_text(line) + "\n")


def emit_json(doc: dict[str, Any]) -> None:
    """Exact strings, valid UTF-8: see textsafe.json_dumps for names that are not UTF-8."""
    sys.stdout.write(json_dumps(doc) + "\n")


def save_analysis(path: str, analysis: Analysis) -> None:
    """`--save FILE`: the full analysis, reusable as `analysis:FILE`."""
    from layerscope.analysis.serialize import saved_document

    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(saved_document(analysis), f)
    except OSError as err:
        raise BadReferenceError(f"cannot write {path}: {err.strerror}") from None


def key_values(items: list[str], flag: str, allow_bare: bool = False) -> dict[str, str | None]:
    """`K=V` flag values (`--build-arg`); with allow_bare a lone `K` maps to None."""
    out: dict[str, str | None] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key or (not eq and not allow_bare):
            raise UsageError(f"{flag} {item!r}: expected K=V")
        out[key] = value if eq else None
    return out


BUILD_CONTEXT_HELP = (
    "a named build context of the build, as docker buildx build and buildah take it; modelled forms: NAME=DIR, "
    "NAME=docker-image://REF, NAME=oci-layout://DIR[:TAG] (an image: say it changed with --base-changed NAME); "
    "not git or HTTP sources"
)


def add_build_context_flag(group: argparse._ActionsContainer) -> None:
    group.add_argument("--build-context", action="append", default=[], metavar="NAME=VALUE", help=BUILD_CONTEXT_HELP)


def build_args(items: list[str]) -> dict[str, str]:
    """The `--build-arg K=V` values of a build."""
    return {k: v or "" for k, v in key_values(items, "--build-arg").items()}
