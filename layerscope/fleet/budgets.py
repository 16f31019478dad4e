"""`--config FILE`: the `check` budgets, and which one applies to each image of the fleet.

An image gets the budget whose `ref` names it (exactly, or as a glob such as
`docker://registry.example/ml/*`); otherwise the budget named `default` (a config with only
`[defaults]`, or a `.dive-ci`, has just that one); otherwise none.
"""

from __future__ import annotations

import fnmatch
import os

from layerscope.budget.config import BudgetConfig, ImageBudget, load_config, load_dive_ci
from layerscope.errors import BadReferenceError, UsageError
from layerscope.fleet.records import Target


def load(path: str) -> BudgetConfig:
    if not os.path.exists(path):  # a FIFO or a device exists: read_text refuses it with its reason
        raise BadReferenceError(f"no such config file: {path}")
    cfg = load_dive_ci(path) if os.path.basename(path).startswith(".dive-ci") else load_config(path)
    if cfg.errors:
        raise UsageError(f"{len(cfg.errors)} error(s) in {path}:\n  " + "\n  ".join(cfg.errors))
    return cfg


class Chooser:
    def __init__(self, config: BudgetConfig) -> None:
        self.config = config
        self.default = next((b for b in config.images if b.name == "default" and not b.ref), None)

    def __call__(self, target: Target) -> ImageBudget | None:
        for budget in self.config.images:
            if budget.ref and (budget.ref == target.reference or fnmatch.fnmatchcase(target.reference, budget.ref)):
                return budget
        return self.default
