"""The package report as frames, figures and `compare` read it.

`Analysis.packages` (analysis/packages) where the analysis has it; computed from the layer
records for one that lacks it (a saved analysis from before packages were part of it);
None when no attribution is possible, and every consumer then says "package attribution
unavailable" rather than guessing.

The per-layer split of categories is not in the package report (its categories describe
the final filesystem): analysis/state.py recovers it from the same attribution. Both are
worked out once per analysis and kept with it.
"""

from __future__ import annotations

from layerscope.analysis.packages.categories import NAMES
from layerscope.analysis.state import state_of
from layerscope.model import Analysis, PackageReport

CATEGORIES = NAMES  # the contract's category names (docs/CONTRACT.md, `packages --json`), in its order
UNAVAILABLE = "package attribution unavailable"


def report_of(a: Analysis) -> PackageReport | None:
    if a.packages is not None:
        return a.packages
    state = state_of(a)
    return None if state is None else state.package_report()


def layer_categories(a: Analysis) -> dict[int, dict[str, int]] | None:
    """Layer index -> category -> bytes of that layer still visible at the top."""
    state = state_of(a)
    return None if state is None else state.split()[0]


def file_categories(a: Analysis) -> dict[str, str] | None:
    """Path -> category of every visible file (one name per hardlink group)."""
    state = state_of(a)
    return None if state is None else state.split()[1]
