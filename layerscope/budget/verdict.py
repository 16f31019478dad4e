"""Evaluating an image's budget: one result per configured rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layerscope.budget.config import ImageBudget
from layerscope.budget.rules import RULES, SECRET_DETECTORS, Context
from layerscope.model import Analysis, Finding
from layerscope.units import fmt_pct, fmt_size


@dataclass(frozen=True, slots=True)
class Result:
    image: str
    rule: str
    limit: Any
    actual: Any
    status: str  # pass | fail | warn | skip
    message: str
    source: str
    findings: tuple[Finding, ...] = ()  # forbid-paths / forbid-secrets: what was found, each one


def _fmt_limit(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "required" if value else "not required"
    if isinstance(value, int) and ("size" in key or "bytes" in key or ("growth" in key and "percent" not in key)):
        return fmt_size(value)
    if isinstance(value, float) and ("efficiency" in key or "user-wasted" in key):
        return fmt_pct(value) if "percent" not in key else f"{value}"
    if isinstance(value, float):
        return f"{value} %"
    if key == "forbid-secrets" and value == SECRET_DETECTORS:
        return "every detector"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} <= {fmt_size(v)}" for k, v in value.items())
    return str(value)


def evaluate(analysis: Analysis, budget: ImageBudget, baseline: dict[str, Any] | None = None) -> list[Result]:
    ctx = Context(analysis, baseline)
    out = []
    for setting in budget.rules:
        rule = RULES[setting.key]
        if setting.level == "off":
            out.append(Result(budget.name, setting.key, None, None, "skip", "rule disabled", setting.source))
            continue
        limit_text = _fmt_limit(setting.key, setting.value)
        if analysis.image.manifest_only and rule.needs_contents:
            out.append(
                Result(budget.name, setting.key, setting.value, None, "skip",
                       "skipped: needs layer contents (--manifest-only)", setting.source)
            )  # fmt: skip
            continue
        o = rule.check(ctx, setting.value)
        if o.ok is None:
            status = "skip"
            message = f"skipped: {o.message}"
        elif o.ok:
            status = "pass"
            message = o.message
        else:
            status = "fail" if setting.level == "error" else "warn"
            message = f"{o.message} (limit {limit_text}, {setting.source})"
        out.append(
            Result(budget.name, setting.key, setting.value, o.actual, status, message, setting.source, o.findings)
        )
    return out
