"""The package report as frames, figures and `compare` read it.

Package attribution (analysis/packages, `Analysis.packages`) is its own subsystem; this
module is the one place the report side touches it. It reads the report through small
protocols, computes one for an analysis that lacks it (a saved analysis from before
packages were part of it) when the layer records are there, and answers None when no
attribution is possible: every consumer then says "package attribution unavailable"
rather than guessing.

The per-layer split of categories is not in the package report (its categories describe
the final filesystem). It is recovered by running the same attribution with a classifier
that records the category of every visible file, so that the per-layer bars always add
up to the report's own category totals.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from layerscope.analysis.breakdown import records_of, tree_of
from layerscope.model import FILE, Analysis

# The contract's category names (CONTRACT.md, `packages --json`), in its order.
CATEGORIES = (
    "python-packages",
    "os-packages",
    "app",
    "package-caches",
    "bytecode",
    "tests-and-docs",
    "build-toolchains",
    "accelerator-libraries",
    "model-weights",
    "other",
)
UNAVAILABLE = "package attribution unavailable"


class PackageLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def ecosystem(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def files(self) -> int: ...
    @property
    def layer(self) -> int | None: ...
    @property
    def layers(self) -> Sequence[tuple[int, int]]: ...
    @property
    def location(self) -> str: ...
    @property
    def dead_bytes(self) -> int: ...
    @property
    def category(self) -> str: ...


class CategoryLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def paths(self) -> Sequence[tuple[str, int]]: ...


class SavingLike(Protocol):
    @property
    def what(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def how(self) -> str: ...


class PackageReportLike(Protocol):
    @property
    def packages(self) -> Sequence[PackageLike]: ...
    @property
    def unattributed(self) -> Sequence[tuple[str, int]]: ...
    @property
    def categories(self) -> Sequence[CategoryLike]: ...
    @property
    def savings(self) -> Sequence[SavingLike]: ...


_KEEP = 2
_REPORTS: OrderedDict[int, tuple[Analysis, Any]] = OrderedDict()
_SPLITS: OrderedDict[int, tuple[Analysis, Any]] = OrderedDict()


def _remember(cache: OrderedDict[int, tuple[Analysis, Any]], a: Analysis, value: Any) -> Any:
    cache[id(a)] = (a, value)
    while len(cache) > _KEEP:
        cache.popitem(last=False)
    return value


def _module(name: str) -> Any:
    """A module of the package attribution, or None where this build has none."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def report_of(a: Analysis) -> PackageReportLike | None:
    report = getattr(a, "packages", None)
    if report is not None:
        return report  # type: ignore[no-any-return]
    hit = _REPORTS.get(id(a))
    if hit is not None and hit[0] is a:
        return hit[1]  # type: ignore[no-any-return]
    records, tree, mod = records_of(a), tree_of(a), _module("layerscope.analysis.packages")
    if records is None or tree is None or mod is None:
        return None
    return _remember(_REPORTS, a, mod.package_report(records, tree, a.image.config))  # type: ignore[no-any-return]


def category_bytes(a: Analysis) -> dict[str, int] | None:
    report = report_of(a)
    if report is None:
        return None
    return {c.name: c.bytes for c in report.categories}


class _Recorder:
    """Wraps the attribution's classifier and notes the category of each file it sees."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: dict[str, str] = {}

    def classify(self, path: str, size: int, owner_category: str | None, owner_rank: int | None) -> tuple[str, str]:
        category, anchor = self.inner.classify(path, size, owner_category, owner_rank)
        self.seen[path] = category
        return category, anchor


Split = tuple[dict[int, dict[str, int]], dict[str, str]]


def _split(a: Analysis) -> Split | None:
    records, tree = records_of(a), tree_of(a)
    hist_mod = _module("layerscope.analysis.packages.history")
    cat_mod = _module("layerscope.analysis.packages.categories")
    att_mod = _module("layerscope.analysis.packages.attribute")
    if records is None or tree is None or hist_mod is None or cat_mod is None or att_mod is None:
        return None

    def visible(path: str, layer: int) -> bool:
        node = tree.nodes.get(path)
        return node is not None and node.layer == layer and node.record.type == FILE

    try:  # the same steps as analysis/packages/report.py, with the classifier recorded
        hist = hist_mod.build(records, visible)
        conda = {i.found.location.lstrip("/") for i in hist.final if i.found.ecosystem == "conda"}
        inner = a.image.config.get("config") if isinstance(a.image.config.get("config"), dict) else {}
        workdir = inner.get("WorkingDir") if isinstance(inner, dict) else None
        recorder = _Recorder(cat_mod.Classifier(conda, workdir if isinstance(workdir, str) else ""))
        att_mod.attribute(tree, hist, recorder)
    except (AttributeError, TypeError):  # the attribution's internals moved: no split, said so
        return None
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
