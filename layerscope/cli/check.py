"""`layerscope check [REF]`: CI size budgets. Exit 0 pass, 1 a budget failed, 2 usage/input error."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from layerscope.analysis.serialize import inspect_document
from layerscope.api import SAVED_LIMIT, analyze
from layerscope.budget.config import BudgetConfig, ImageBudget, dive_ci_config, find_config, load_config, load_dive_ci
from layerscope.budget.verdict import Result, evaluate
from layerscope.cli.common import Progress, add_image_flags, emit_command, emit_json, registry_args
from layerscope.errors import BadReferenceError, UsageError
from layerscope.model import Analysis
from layerscope.output import budget as outputs
from layerscope.readfile import read_bytes
from layerscope.units import MAX_SIZE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="CI size budgets: exit 0 pass, 1 a budget failed, 2 usage or input error")
    add_image_flags(p)
    p.set_defaults(ref=None)
    for action in p._actions:
        if action.dest == "ref":
            action.nargs = "?"
            action.help = "the image to check (default: every image the config names)"
    p.add_argument("--image", help="the config's image (budget) to apply to REF, or the one to check")
    p.add_argument(
        "--config",
        help="a pyproject.toml, .layerscope.toml or dive .dive-ci file (default: found "
        "walking up from the current directory; else ./.dive-ci; else dive's default rules)",
    )
    p.add_argument("--baseline", help="a saved `inspect --json` document to measure growth against")
    p.add_argument("--update-baseline", action="store_true", help="write this image's inspect --json to --baseline")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    p.add_argument("--markdown", metavar="FILE", help="also write a Markdown summary (a PR comment)")
    p.add_argument(
        "--github", action="store_true", help="print GitHub Actions annotations (automatic when GITHUB_ACTIONS=true)"
    )
    p.set_defaults(func=run)


def _load(args: argparse.Namespace) -> BudgetConfig:
    path = args.config or find_config(os.getcwd())
    if path is None and os.path.isfile(".dive-ci"):
        path = ".dive-ci"
    if path is None:
        return load_dive_ci_defaults()
    if not os.path.exists(path):  # a FIFO or a device exists: read_text refuses it with its reason
        raise BadReferenceError(f"no such config file: {path}")
    cfg = load_dive_ci(path) if os.path.basename(path).startswith(".dive-ci") else load_config(path)
    if len(cfg.errors) == 1:  # it names the file and the table itself
        raise UsageError(cfg.errors[0])
    if cfg.errors:
        raise UsageError(f"{len(cfg.errors)} error(s) in {path}:", tuple(cfg.errors))
    return cfg


def load_dive_ci_defaults() -> BudgetConfig:
    """No config anywhere: dive's default CI rules, as `dive --ci` applies them (no file written)."""
    return dive_ci_config({}, None)


def _targets(args: argparse.Namespace, cfg: BudgetConfig) -> list[tuple[ImageBudget, str]]:
    images = list(cfg.images)
    if args.image:
        images = [i for i in images if i.name == args.image]
        if not images:
            names = ", ".join(i.name for i in cfg.images)
            raise UsageError(f"no image {args.image!r} in {cfg.path} (it has: {names})")
    if args.ref is not None:
        if len(images) > 1:
            same = [i for i in images if i.ref == args.ref]
            if len(same) != 1:
                raise UsageError(f"{cfg.path} has several images; name the budget to apply with --image")
            images = same
        return [(images[0], args.ref)]
    missing = [i.name for i in images if not i.ref]
    if missing and cfg.path is None:  # dive's defaults: no config names an image
        raise UsageError(
            "check needs an image: give REF (no pyproject.toml [tool.layerscope], .layerscope.toml or .dive-ci"
            " names one here)"
        )
    if missing:
        raise UsageError(f"no REF given and image(s) {', '.join(missing)} in {cfg.path or 'the config'} have no ref")
    return [(i, str(i.ref)) for i in images]


def _exposure_options(budget: ImageBudget) -> tuple[tuple[str, ...], bool]:
    """The globs to match and whether to scan file contents: only what the budget's rules use
    (reading every file's head costs; a budget without forbid-secrets never pays it)."""
    on = {r.key: r for r in budget.rules if r.level != "off"}
    globs = tuple(on["forbid-paths"].value) if "forbid-paths" in on else ()
    return globs, "forbid-secrets" in on


def _baseline(path: str | None) -> dict[str, Any] | None:
    if not path or not os.path.exists(path):
        return None
    try:
        doc = json.loads(read_bytes(path, "baseline", SAVED_LIMIT))
    except (ValueError, RecursionError) as err:  # RecursionError: nested thousands deep
        raise BadReferenceError(f"cannot read baseline {path}: {err}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(
        ("layerscope.inspect/", "layerscope.analysis/")
    ):
        raise BadReferenceError(f"{path} is not a layerscope inspect --json document")
    totals = doc.get("totals")
    if totals is not None and not isinstance(totals, dict):
        raise BadReferenceError(f"baseline {path}: totals must be an object")
    for key in ("size", "compressed_size"):
        value = (totals or {}).get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE):
            raise BadReferenceError(f"baseline {path}: totals.{key} must be a number of bytes, not {value!r:.60}")
    return doc


def _write(path: str, what: str, data: bytes, mode: str = "wb") -> None:
    """An output file the user named: a directory or a missing parent is a usage error."""
    try:
        with open(path, mode) as fh:
            fh.write(data)
    except OSError as err:
        raise UsageError(f"{what}: cannot write {path}: {err.strerror or err}") from None


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    cfg = _load(args)
    targets = _targets(args, cfg)
    if args.baseline and not args.update_baseline and not os.path.exists(args.baseline):
        raise BadReferenceError(f"no such baseline file: {args.baseline} (create it with --update-baseline)")
    if args.update_baseline and not args.baseline:
        raise UsageError("--update-baseline needs --baseline FILE")
    if args.update_baseline and len(targets) > 1:
        raise UsageError("--update-baseline works on one image at a time (use --image)")
    baseline = _baseline(args.baseline) if not args.update_baseline else None
    results: list[Result] = []
    analyses: dict[str, Analysis] = {}
    refs: dict[str, str] = {}
    registry = registry_args(args)
    for budget, ref in targets:
        globs, scan = _exposure_options(budget)
        a = analyze(ref, platform=args.platform, verify=args.verify, manifest_only=args.manifest_only,
                    progress=Progress(not args.quiet), use_cache=not args.no_cache, forbid_paths=globs,
                    scan_secrets=scan, **registry)  # fmt: skip
        analyses[budget.name] = a
        refs[budget.name] = ref
        results += evaluate(a, budget, baseline)
        if args.update_baseline:
            _write(args.baseline, "--baseline", (json.dumps(inspect_document(a), indent=2) + "\n").encode())
    if args.junit:
        _write(args.junit, "--junit", outputs.junit(results))
    summary = outputs.markdown(results, analyses)
    if args.markdown:
        _write(args.markdown, "--markdown", summary.encode())
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        _write(step_summary, "$GITHUB_STEP_SUMMARY", (summary + "\n").encode(), mode="ab")
    if args.json:
        emit_json(outputs.document(results))
    else:
        if args.github or os.environ.get("GITHUB_ACTIONS") == "true":
            for line in outputs.github_annotations(results):
                emit_command(line)  # not out(): that disarms every workflow command, these included
        if cfg.path is None:
            out("Using dive's default CI rules (no [tool.layerscope] in pyproject.toml, .layerscope.toml or .dive-ci)")
        for line in outputs.text(results, refs):
            out(line)
        if args.update_baseline:
            out(f"baseline written to {args.baseline}")
    return 1 if any(r.status == "fail" for r in results) else 0
