"""The package report of an image: history of its package databases, ownership, categories
and savings, from the layer records and the stacked final tree (no second pass over bytes)."""

from __future__ import annotations

from typing import Any

from layerscope.analysis.filetree import FileTree
from layerscope.analysis.packages import categories as c
from layerscope.analysis.packages.attribute import Attribution, attribute
from layerscope.analysis.packages.common import CONDA
from layerscope.analysis.packages.history import History, build
from layerscope.analysis.packages.savings import savings
from layerscope.model import FILE, CategoryBytes, LayerRecord, PackageReport

CATEGORY_PATHS = 10


def _attribution(records: list[LayerRecord], tree: FileTree, config: dict[str, Any]) -> tuple[History, Attribution]:
    def visible(path: str, layer: int) -> bool:
        node = tree.nodes.get(path)
        return node is not None and node.layer == layer and node.record.type == FILE

    hist = build(records, visible)
    conda_prefixes = {i.found.location.lstrip("/") for i in hist.final if i.found.ecosystem == CONDA}
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    workdir = inner.get("WorkingDir") if isinstance(inner, dict) else None
    classifier = c.Classifier(conda_prefixes, workdir if isinstance(workdir, str) else "")
    return hist, attribute(tree, hist, classifier)


def package_files(
    records: list[LayerRecord], tree: FileTree, config: dict[str, Any]
) -> dict[tuple[str, str, str, str], list[str]]:
    """The final-filesystem paths each package owns, keyed (ecosystem, name, version,
    location): the same ownership package_report counts (explore highlights them)."""
    return _attribution(records, tree, config)[1].files


def package_report(records: list[LayerRecord], tree: FileTree, config: dict[str, Any]) -> PackageReport:
    hist, att = _attribution(records, tree, config)
    cats = tuple(
        CategoryBytes(
            name,
            sum(att.categories.get(name, {}).values()),
            tuple(sorted(att.categories.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:CATEGORY_PATHS]),
        )
        for name in c.NAMES
    )
    notes = list(hist.notes)
    inferred = sum(p.inferred_bytes for p in att.packages)
    if inferred:
        notes.append(
            f"{inferred} byte(s) owned by inference, not by a package's file list (inferred_bytes; "
            "each package's notes say from what)"
        )
    return PackageReport(
        packages=tuple(att.packages),
        removed=tuple(att.removed),
        unattributed=tuple(sorted(att.unattributed.items(), key=lambda kv: (-kv[1], kv[0]))),
        categories=cats,
        savings=tuple(savings(att.packages, att.removed, att.categories, att.unowned_tools)),
        notes=tuple(notes),
    )
