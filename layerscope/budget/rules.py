"""Budget rules: each turns an Analysis (and a setting) into a pass / fail / warn / skip.

Comparisons: a limit is the largest allowed value ("max-size = 250 MB" passes at exactly
250 MB). dive's three rules keep dive's strict comparisons: fail when efficiency < t,
wasted > t, user wasted > t; a NaN user-wasted figure passes, as in dive.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerscope.analysis.exposure import SECRET_NAME, check_globs
from layerscope.errors import UsageError
from layerscope.layers.secrets import NAMES as DETECTORS
from layerscope.model import COMPRESSED, FILE, Analysis, Finding, layers_stored_word
from layerscope.units import fmt_pct, fmt_size, parse_size

MODEL_SUFFIXES = (".safetensors", ".gguf", ".ggml", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".tflite", ".pb", ".bin")


@dataclass(frozen=True, slots=True)
class Outcome:
    actual: Any
    ok: bool | None  # None: the rule could not be evaluated (skip)
    message: str
    findings: tuple[Finding, ...] = ()  # forbid-paths / forbid-secrets: each one, for the outputs to list


@dataclass(frozen=True, slots=True)
class Context:
    analysis: Analysis
    baseline: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    parse: Callable[[Any], Any]
    check: Callable[[Context, Any], Outcome]
    needs_contents: bool
    describe: str


def _size(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise UsageError(f'expected a size such as "250 MB", got {v!r}')
    return parse_size(v)


def _ratio(v: Any) -> float:
    x = float(v)
    if not 0.0 <= x <= 1.0:
        raise UsageError(f"expected a ratio between 0 and 1, got {v!r}")
    return x


def _count(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise UsageError(f"expected a whole number, got {v!r}")
    return v


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise UsageError(f"expected true or false, got {v!r}")
    return v


def _globs(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise UsageError(f"expected a list of names or globs, got {v!r}")
    return tuple(v)


CATEGORIES = (
    "python-packages", "os-packages", "app", "package-caches", "bytecode", "tests-and-docs",
    "build-toolchains", "accelerator-libraries", "model-weights", "other",
)  # fmt: skip


def _categories(v: Any) -> tuple[str, ...]:
    names = _globs(v)
    unknown = [n for n in names if n not in CATEGORIES]
    if unknown:
        raise UsageError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)} "
            f"(known: {', '.join(CATEGORIES)})"
        )
    return names


def _path_globs(v: Any) -> tuple[str, ...]:
    globs = _globs(v)
    if not globs:
        raise UsageError('expected at least one glob, e.g. ["**/.git/", "**/.env"]')
    try:
        check_globs(globs)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return globs


SECRET_DETECTORS = (*DETECTORS, SECRET_NAME)


def _detectors(v: Any) -> tuple[str, ...]:
    """true: every detector; a list: those (layers/secrets.py, and "secret-name")."""
    if isinstance(v, bool):
        if v:
            return SECRET_DETECTORS
        raise UsageError('expected true or a list of detectors ("off" disables the rule)')
    names = _globs(v)
    unknown = [n for n in names if n not in SECRET_DETECTORS]
    if unknown or not names:
        raise UsageError(
            f"expected true or a list of detectors from {', '.join(SECRET_DETECTORS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return names


def _percent(v: Any) -> float:
    text = str(v).strip().rstrip("%")
    x = float(text)
    if not 0 <= x < float("inf"):  # NaN and infinity too
        raise UsageError(f"expected a percentage, got {v!r}")
    return x


def _package_limits(v: Any) -> dict[str, int]:
    if not isinstance(v, dict) or not v:
        raise UsageError('expected a table of package globs and sizes, e.g. { "torch*" = "2.5 GB" }')
    return {str(k): _size(x) for k, x in v.items()}


def _limit(actual: int | None, limit: int, what: str) -> Outcome:
    if actual is None:
        return Outcome(None, None, f"{what} unknown (needs layer contents)")
    if actual > limit:
        return Outcome(actual, False, f"{what} {fmt_size(actual)} exceeded by {fmt_size(actual - limit)}")
    return Outcome(actual, True, f"{what} {fmt_size(actual)} (headroom {fmt_size(limit - actual)})")


def _max_size(c: Context, v: int) -> Outcome:
    return _limit(c.analysis.totals.size, v, "uncompressed size")


def _max_compressed(c: Context, v: int) -> Outcome:
    word = layers_stored_word(c.analysis.image.layers)  # a plain-tar source's blobs are not compressed
    return _limit(
        c.analysis.totals.compressed_size, v, "compressed size" if word == COMPRESSED else f"blob size ({word})"
    )


def _max_layer(c: Context, v: int) -> Outcome:
    sizes = [(layer.size, layer.index) for layer in c.analysis.image.layers if layer.size is not None]
    if not sizes:
        return Outcome(None, None, "layer sizes unknown")
    size, idx = max(sizes)
    out = _limit(size, v, f"largest layer (#{idx})")
    return out


def _max_layers(c: Context, v: int) -> Outcome:
    n = len(c.analysis.image.layers)
    return Outcome(n, n <= v, f"{n} layers" + ("" if n <= v else f", {n - v} over"))


def _min_efficiency(c: Context, v: float) -> Outcome:
    e = c.analysis.totals.efficiency
    if e is None:
        return Outcome(None, None, "efficiency unknown")
    return Outcome(e, e >= v, f"efficiency {fmt_pct(e)} (layerscope's: final bytes / all bytes)")


def _max_wasted(c: Context, v: int) -> Outcome:
    return _limit(c.analysis.totals.wasted_bytes, v, "wasted (hidden by later layers)")


def _dive_eff(c: Context, v: float) -> Outcome:
    d = c.analysis.dive
    if d is None:
        return Outcome(None, None, "dive figures unknown")
    return Outcome(d.efficiency, not d.efficiency < v, f"dive efficiency {fmt_pct(d.efficiency)}")


def _dive_wasted(c: Context, v: int) -> Outcome:
    d = c.analysis.dive
    if d is None:
        return Outcome(None, None, "dive figures unknown")
    return Outcome(d.wasted_bytes, not d.wasted_bytes > v, f"dive wasted bytes {fmt_size(d.wasted_bytes)}")


def _dive_user(c: Context, v: float) -> Outcome:
    d = c.analysis.dive
    if d is None:
        return Outcome(None, None, "dive figures unknown")
    p = d.user_wasted_percent
    if p is None:  # dive's NaN never exceeds a threshold
        return Outcome(None, True, "dive user wasted percent is not a number (one-layer image): passes, as in dive")
    return Outcome(p, not p > v, f"dive user wasted {fmt_pct(p)}")


def _packages(c: Context) -> Any:
    return getattr(c.analysis, "packages", None)


def _max_package(c: Context, v: dict[str, int]) -> Outcome:
    report = _packages(c)
    if report is None:
        return Outcome(None, None, "package attribution unavailable")
    over = []
    for pkg in report.packages:
        for glob, limit in v.items():
            if fnmatch.fnmatch(pkg.name.lower(), glob.lower()) and pkg.size > limit:
                over.append(f"{pkg.name} {fmt_size(pkg.size)} > {glob} limit {fmt_size(limit)}")
    return Outcome(len(over), not over, "; ".join(over) if over else "every matching package within its limit")


def _forbid_packages(c: Context, v: tuple[str, ...]) -> Outcome:
    report = _packages(c)
    if report is None:
        return Outcome(None, None, "package attribution unavailable")
    found = sorted(
        {
            f"{p.ecosystem}:{p.name}"
            for p in report.packages
            if any(fnmatch.fnmatch(p.name.lower(), g.lower()) for g in v)
        }
    )
    return Outcome(found, not found, ("forbidden: " + ", ".join(found[:10])) if found else "none present")


def _forbid_categories(c: Context, v: tuple[str, ...]) -> Outcome:
    report = _packages(c)
    if report is None:
        return Outcome(None, None, "package attribution unavailable")
    found = [cat for cat in report.categories if cat.name in v and cat.bytes > 0]
    msg = ", ".join(f"{cat.name} {fmt_size(cat.bytes)}" for cat in found)
    return Outcome([cat.name for cat in found], not found, ("present: " + msg) if found else "none present")


def _model_files(c: Context, v: int) -> Outcome:
    big = []
    for layer in c.analysis.image.layers:
        if layer.record is None:
            return Outcome(None, None, "file sizes unknown")
        for f in layer.record.files:
            if f.type == FILE and f.size > v and posixpath.splitext(f.path)[1].lower() in MODEL_SUFFIXES:
                big.append((f.size, layer.index, f.path))
    big.sort(reverse=True)
    msg = "; ".join(f"/{p} {fmt_size(s)} in layer {i}" for s, i, p in big[:5])
    return Outcome(len(big), not big, msg if big else "no model-weight file over the limit")


def _findings(found: list[Finding], what: str, none: str) -> Outcome:
    """The message counts them; the outputs list each one (output/budget.py)."""
    if not found:
        return Outcome(0, True, none)
    hidden = sum(1 for f in found if f.hidden)
    tail = f", {hidden} of them hidden by a later layer (still in the pulled blobs)" if hidden else ""
    return Outcome(len(found), False, f"{len(found)} {what}{tail}", tuple(found))


def _forbid_paths(c: Context, v: tuple[str, ...]) -> Outcome:
    e = c.analysis.exposure
    if e is None or not set(v) <= set(e.path_globs):
        return Outcome(None, None, "paths not matched (needs layer contents)")
    return _findings(
        [f for f in e.findings if f.kind == "path" and f.detector in v], "forbidden path(s)", "no forbidden path"
    )


def _forbid_secrets(c: Context, v: tuple[str, ...]) -> Outcome:
    e = c.analysis.exposure
    if e is None:
        return Outcome(None, None, "secrets not searched (needs layer contents)")
    found = [f for f in e.findings if f.kind != "path" and f.detector in v]
    if not e.secrets_scanned:
        # Env and history were searched; file contents were not: "none" would be a guess.
        return Outcome(None, None, "file contents were not scanned for secrets")
    return _findings(found, "secret(s)", "no secret found (file heads, Env, history)")


def _cfg(c: Context) -> dict[str, Any]:
    cfg = c.analysis.image.config.get("config") or {}
    return cfg if isinstance(cfg, dict) else {}


def _healthcheck(c: Context, v: bool) -> Outcome:
    hc = _cfg(c).get("Healthcheck") or {}
    test = hc.get("Test") if isinstance(hc, dict) else None
    ok = bool(test) and test != ["NONE"]
    return Outcome(ok, ok or not v, "HEALTHCHECK set" if ok else "no HEALTHCHECK in the image config")


def _non_root(c: Context, v: bool) -> Outcome:
    user = str(_cfg(c).get("User") or "")
    root = user.split(":")[0] in ("", "root", "0")
    return Outcome(user or "root", not root or not v, f"USER {user}" if not root else "runs as root (no USER)")


def _exec_form(c: Context, v: bool) -> Outcome:
    cfg = _cfg(c)
    entry = cfg.get("Entrypoint") or []
    cmd = cfg.get("Cmd") or []
    first = entry or cmd
    what = "ENTRYPOINT" if entry else "CMD"
    if not isinstance(first, list) or not all(isinstance(word, str) for word in first):
        # The config is the image's: a string or number here is malformed (an engine refuses
        # to run it), so neither form can be claimed.
        return Outcome(False, not v, f"{what} is not a list of strings (a malformed image config)")
    shell = len(first) >= 2 and first[0] in ("/bin/sh", "sh", "/bin/bash", "bash") and first[1] == "-c"
    msg = f"{what} is shell form ({' '.join(first)[:60]}): SIGTERM goes to the shell" if shell else f"{what} exec form"
    return Outcome(not shell, not shell or not v, msg)


def _growth(c: Context, v: int, compressed: bool) -> Outcome:
    if c.baseline is None:
        return Outcome(None, None, "no --baseline given")
    key = "compressed_size" if compressed else "size"
    base = (c.baseline.get("totals") or {}).get(key)
    now = c.analysis.totals.compressed_size if compressed else c.analysis.totals.size
    if base is None or now is None:
        return Outcome(None, None, f"{key} unknown in the image or the baseline")
    grew = now - base
    return Outcome(grew, grew <= v, f"grew {fmt_size(grew)} since the baseline" if grew >= 0 else "shrank")


def _growth_pct(c: Context, v: float) -> Outcome:
    if c.baseline is None:
        return Outcome(None, None, "no --baseline given")
    base = (c.baseline.get("totals") or {}).get("size")
    now = c.analysis.totals.size
    if not base or now is None:
        return Outcome(None, None, "size unknown in the image or the baseline")
    pct = 100.0 * (now - base) / base
    return Outcome(round(pct, 3), pct <= v, f"grew {pct:.2f} % since the baseline")


RULES: dict[str, Rule] = {
    r.key: r
    for r in [
        Rule("max-size", _size, _max_size, True, "total uncompressed size (Σ layer sizes)"),
        Rule("max-compressed-size", _size, _max_compressed, False, "total blob size as stored/pulled"),
        Rule("max-layer-size", _size, _max_layer, True, "largest layer, uncompressed"),
        Rule("max-layers", _count, _max_layers, False, "number of filesystem layers"),
        Rule("min-efficiency", _ratio, _min_efficiency, True, "layerscope's efficiency (final / all bytes)"),
        Rule("max-wasted-bytes", _size, _max_wasted, True, "bytes hidden by later layers (layerscope's)"),
        Rule("dive-lowest-efficiency", _ratio, _dive_eff, True, "dive's lowestEfficiency"),
        Rule("dive-highest-wasted-bytes", _size, _dive_wasted, True, "dive's highestWastedBytes"),
        Rule("dive-highest-user-wasted-percent", _ratio, _dive_user, True, "dive's highestUserWastedPercent"),
        Rule("max-package-size", _package_limits, _max_package, True, "per-package size limits by glob"),
        Rule("forbid-packages", _globs, _forbid_packages, True, "packages that must not be in the image"),
        Rule("forbid-categories", _categories, _forbid_categories, True, "categories that must not be in the image"),
        Rule("max-model-file-size", _size, _model_files, True, "largest model-weight file in any layer"),
        Rule("forbid-paths", _path_globs, _forbid_paths, True, "paths that must not be in any layer (globs)"),
        Rule("forbid-secrets", _detectors, _forbid_secrets, True, "secrets in file contents, Env and history"),
        Rule("require-healthcheck", _flag, _healthcheck, False, "a HEALTHCHECK is set"),
        Rule("require-non-root", _flag, _non_root, False, "USER is not root"),
        Rule("require-exec-form", _flag, _exec_form, False, "ENTRYPOINT/CMD in exec form"),
        Rule("max-growth", _size, lambda c, v: _growth(c, v, False), True, "growth of the uncompressed size"),
        Rule("max-compressed-growth", _size, lambda c, v: _growth(c, v, True), False, "growth of the stored blob size"),
        Rule("max-growth-percent", _percent, _growth_pct, True, "growth of the uncompressed size, in percent"),
    ]
}
