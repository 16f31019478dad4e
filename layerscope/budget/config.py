"""Budget configuration: `[tool.layerscope]` in pyproject.toml or `.layerscope.toml`, and
dive's `.dive-ci`, read with dive's exact meaning.

    [tool.layerscope.images.api]          # one table per image; "api" is its name
    ref = "docker-daemon:acme/api:latest"
    max-size = "250 MB"                   # a rule: a limit ...
    max-wasted-bytes = { limit = "20 MB", level = "warn" }   # ... or a table with a level
    require-healthcheck = "off"           # "off" disables a rule

Sizes: decimal units are powers of 1000 (kB, MB, GB), binary units powers of 1024 (KiB,
MiB, GiB), unit names case-insensitive ("20Mb" is 20,000,000 bytes, as in dive).
`[tool.layerscope.defaults]` applies to every image; an image's own keys win.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from layerscope.errors import LayerscopeError, UsageError
from layerscope.readfile import read_text

LEVELS = ("error", "warn", "off")
CONFIG_NAMES = (".layerscope.toml", "pyproject.toml")
CONFIG_LIMIT = 4 << 20  # bytes: a config larger than this is not one


@dataclass(frozen=True, slots=True)
class RuleSetting:
    key: str  # the config key, e.g. "max-size"
    value: Any  # parsed limit (int bytes, float ratio, list of globs, dict, bool)
    level: str  # "error" (fail), "warn" or "off"
    source: str  # where it was set, e.g. "pyproject.toml [tool.layerscope.images.api]"


@dataclass(frozen=True, slots=True)
class ImageBudget:
    name: str
    ref: str | None
    rules: tuple[RuleSetting, ...]
    source: str


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    path: str | None
    images: tuple[ImageBudget, ...]
    errors: tuple[str, ...] = field(default=())


def find_config(start: str) -> str | None:
    """The first .layerscope.toml, or pyproject.toml with [tool.layerscope], walking up."""
    here = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            path = os.path.join(here, name)
            if not os.path.isfile(path):
                continue
            if name == "pyproject.toml":
                try:
                    tool = tomllib.loads(read_text(path, "config", CONFIG_LIMIT)).get("tool", {})
                    if not isinstance(tool, dict) or "layerscope" not in tool:  # `tool = 1` is not ours either
                        continue
                except (LayerscopeError, tomllib.TOMLDecodeError, RecursionError):  # not a config: keep looking
                    continue
            return path
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_config(path: str) -> BudgetConfig:
    """Parse a config; every error in it is collected (file and key), not just the first."""
    from layerscope.budget.rules import RULES

    try:
        doc = tomllib.loads(read_text(path, "config", CONFIG_LIMIT))
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML: {err}") from None
    except RecursionError:
        raise UsageError(f"{path}: not valid TOML: nested too deeply") from None
    base = os.path.basename(path)
    if base == "pyproject.toml":
        tool = doc.get("tool", {})
        table = tool.get("layerscope", {}) if isinstance(tool, dict) else None
        prefix = "tool.layerscope"
    else:
        table = doc
        prefix = ""
    errors: list[str] = []

    def where(k: str) -> str:
        return f"{base} [{prefix}.{k}]" if prefix else f"{base} [{k}]"

    if not isinstance(table, dict):
        return BudgetConfig(path, (), (f"{base} [{prefix}]: must be a table",))

    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict):
        errors.append(f"{where('defaults')}: must be a table")
        defaults = {}
    images_t = table.get("images", {})
    if not isinstance(images_t, dict):
        errors.append(f"{where('images')}: must be a table of images")
        images_t = {}
    for key in table:
        if key not in ("defaults", "images"):
            errors.append(f"{base}: unknown key {prefix + '.' if prefix else ''}{key!r} (expected defaults, images)")
    images = []
    if not images_t:
        images_t = {"default": {}}
    for name, body in images_t.items():
        listed = isinstance(table.get("images"), dict) and "default" in table["images"]
        src = where(f"images.{name}") if name != "default" or listed else where("defaults")
        if not isinstance(body, dict):
            errors.append(f"{src}: must be a table")
            continue
        merged = {**defaults, **body}
        ref = merged.pop("ref", None)
        if ref is not None and not isinstance(ref, str):
            errors.append(f"{src} ref: must be a string")
            ref = None
        rules = []
        for key, raw in merged.items():
            rule = RULES.get(key)
            key_src = src if key in body else where("defaults")
            if rule is None:
                errors.append(f"{key_src}: unknown rule {key!r} (known: {', '.join(sorted(RULES))})")
                continue
            level = "error"
            value = raw
            if isinstance(raw, dict) and ("limit" in raw or "level" in raw):
                level = str(raw.get("level", "error"))
                value = raw.get("limit", True)
                extra = set(raw) - {"limit", "level"}
                if extra:
                    errors.append(f"{key_src} {key}: unknown field(s) {', '.join(sorted(extra))}")
            if isinstance(value, str) and value.lower() in ("off", "disabled", "false"):
                level, value = "off", None
            if level not in LEVELS:
                errors.append(f"{key_src} {key}: level must be one of {', '.join(LEVELS)}, not {level!r}")
                continue
            if level != "off":
                try:
                    value = rule.parse(value)
                except (UsageError, ValueError, TypeError) as err:
                    errors.append(f"{key_src} {key}: {err}")
                    continue
            rules.append(RuleSetting(key, value, level, key_src))
        images.append(ImageBudget(name, ref, tuple(rules), src))
    return BudgetConfig(path, tuple(images), tuple(errors))


# dive's CI rules (.dive-ci): defaults 0.9 / disabled / 0.1, strict comparisons.
DIVE_KEYS = {
    "lowestEfficiency": "dive-lowest-efficiency",
    "highestWastedBytes": "dive-highest-wasted-bytes",
    "highestUserWastedPercent": "dive-highest-user-wasted-percent",
}
DIVE_DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}


def load_dive_ci(path: str) -> BudgetConfig:
    """A `.dive-ci` file as dive 0.13.1 reads it: unknown keys ignored, values strict."""
    import yaml

    from layerscope.budget.yamlsafe import load_yaml

    try:
        doc = load_yaml(read_text(path, "config", CONFIG_LIMIT)) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
    return dive_ci_config(doc, path)


def dive_ci_config(doc: Any, path: str | None) -> BudgetConfig:
    """A parsed `.dive-ci` document; `path` None: dive's defaults (an empty document)."""
    from layerscope.budget.rules import RULES

    rules_doc = doc.get("rules", {}) if isinstance(doc, dict) else {}
    if not isinstance(rules_doc, dict):
        rules_doc = {}
    base = os.path.basename(path) if path is not None else "dive's default rules"
    errors: list[str] = []
    rules = []
    for dive_key, key in DIVE_KEYS.items():
        raw = rules_doc.get(dive_key, DIVE_DEFAULTS[dive_key])
        text = "" if raw is None else str(raw).strip()
        src = f"{base} rules.{dive_key}" if path is not None else base
        if text.lower() in ("", "disabled", "off", "false"):
            rules.append(RuleSetting(key, None, "off", src))
            continue
        try:
            rules.append(RuleSetting(key, RULES[key].parse(text), "error", src))
        except (UsageError, ValueError) as err:
            errors.append(f"{src}: {err}")
    return BudgetConfig(path, (ImageBudget("default", None, tuple(rules), base),), tuple(errors))
