"""The package report as frames, figures and `compare` read it.

`Analysis.packages` (analysis/packages) where the analysis has it; computed from the layer
records for one that lacks it (a saved analysis from before packages were part of it);
None when no attribution is possible, and every consumer then says "package attribution
unavailable" rather than guessing.

The per-layer split of categories is not in the package report (its categories describe
the final filesystem). It is recovered by running the same attribution with a classifier
that records the category of every visible file, so that the per-layer bars always add
up to the report's own category totals.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any

from layerscope.analysis.breakdown import records_of, tree_of
from layerscope.analysis.packages import package_report
from layerscope.analysis.packages.categories import NAMES, Classifier
from layerscope.analysis.packages.report import attribution
from layerscope.model import Analysis, PackageRebuild, PackageReport
from layerscope.units import fmt_size

CATEGORIES = NAMES  # the contract's category names (docs/CONTRACT.md, `packages --json`), in its order
UNAVAILABLE = "package attribution unavailable"

_KEEP = 2
_REPORTS: OrderedDict[int, tuple[Analysis, Any]] = OrderedDict()
_SPLITS: OrderedDict[int, tuple[Analysis, Any]] = OrderedDict()


def _remember(cache: OrderedDict[int, tuple[Analysis, Any]], a: Analysis, value: Any) -> Any:
    cache[id(a)] = (a, value)
    while len(cache) > _KEEP:
        cache.popitem(last=False)
    return value


def report_of(a: Analysis) -> PackageReport | None:
    if a.packages is not None:
        return a.packages
    hit = _REPORTS.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]  # type: ignore[no-any-return]
    records, tree = records_of(a), tree_of(a)
    if records is None or tree is None:
        return None
    return _remember(_REPORTS, a, package_report(records, tree, a.image.config))  # type: ignore[no-any-return]


class _Recorder(Classifier):
    """The attribution's classifier, noting the category of each file it is asked about."""

    def __init__(self, conda_prefixes: set[str], workdir: str) -> None:
        super().__init__(conda_prefixes, workdir)
        self.seen: dict[str, str] = {}

    def classify(self, path: str, size: int, owner_category: str | None, owner_rank: int | None) -> tuple[str, str]:
        category, anchor = super().classify(path, size, owner_category, owner_rank)
        self.seen[path] = category
        return category, anchor


Split = tuple[dict[int, dict[str, int]], dict[str, str]]


def _split(a: Analysis) -> Split | None:
    records, tree = records_of(a), tree_of(a)
    if records is None or tree is None:
        return None

    _hist, _att, recorder = attribution(records, tree, a.image.config, _Recorder)
    split: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, category in recorder.seen.items():
        node = tree.nodes.get(path)
        if node is not None and node.inode is not None:
            split[node.inode[0]][category] += tree.inode_size[node.inode]
    return {layer: dict(cats) for layer, cats in split.items()}, recorder.seen


def _splits(a: Analysis) -> Split | None:
    hit = _SPLITS.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]  # type: ignore[no-any-return]
    return _remember(_SPLITS, a, _split(a))  # type: ignore[no-any-return]


def layer_categories(a: Analysis) -> dict[int, dict[str, int]] | None:
    """Layer index -> category -> bytes of that layer still visible at the top."""
    split = _splits(a)
    return None if split is None else split[0]


def file_categories(a: Analysis) -> dict[str, str] | None:
    """Path -> category of every visible file (one name per hardlink group)."""
    split = _splits(a)
    return None if split is None else split[1]


def rebuild_text(r: PackageRebuild) -> str:
    """What a bump costs, in one line (the TUI's details, the report's tables)."""
    layers = f"{len(r.layers)} layer{'s' if len(r.layers) != 1 else ''}"
    size = fmt_size(r.bytes) if r.bytes is not None else "? bytes"
    stored = f" ({fmt_size(r.compressed_bytes)} compressed)" if r.compressed_bytes is not None else ""
    secs = "time unknown" if r.seconds is None else f"{r.seconds:.1f} s"
    if r.seconds is not None and r.seconds_source == "history-estimate":
        secs += " (estimate)"
    return f"{layers}, {size}{stored}, {secs}"
