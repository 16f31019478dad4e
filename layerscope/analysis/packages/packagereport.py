"""The package report of an image: history of its package databases, ownership, categories
and savings, from the layer records and the stacked final tree (no second pass over bytes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from layerscope.analysis.filetree import FileTree
from layerscope.analysis.packages import categories as c
from layerscope.analysis.packages.attribute import Attribution, attribute
from layerscope.analysis.packages.closure import apk_graph, closure, deb_graph, settle
from layerscope.analysis.packages.common import APK, CONDA, DEB, RPM
from layerscope.analysis.packages.installs import History, build
from layerscope.analysis.packages.savings import savings
from layerscope.model import FILE, BuildOnly, CategoryBytes, LayerRecord, Package, PackageReport

CATEGORY_PATHS = 10


C = TypeVar("C", bound=c.Classifier)


def attribution(
    records: list[LayerRecord],
    tree: FileTree,
    config: dict[str, Any],
    make: Callable[[set[str], str], C],
) -> tuple[History, Attribution, C]:
    """The one attribution of an image's files to packages and categories; `make(conda
    prefixes, workdir)` gives its classifier (a subclass may note what it is asked)."""

    def visible(path: str, layer: int) -> bool:
        node = tree.nodes.get(path)
        return node is not None and node.layer == layer and node.record.type == FILE

    hist = build(records, visible)
    conda_prefixes = {i.found.location.lstrip("/") for i in hist.final if i.found.ecosystem == CONDA}
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    workdir = inner.get("WorkingDir") if isinstance(inner, dict) else None
    classifier = make(conda_prefixes, workdir if isinstance(workdir, str) else "")
    return hist, attribute(tree, hist, classifier), classifier


Held = dict[tuple[str, str], tuple[str, ...]]


def _closure(hist: History, packages: list[Package]) -> tuple[tuple[BuildOnly, ...], tuple[str, ...], Held]:
    """The toolchain's dependency closure in each OS package database, what was not
    estimated, and the toolchain packages a runtime package needs ((ecosystem, name) -> who)."""
    members: list[BuildOnly] = []
    notes: list[str] = []
    held: Held = {}
    tools = {(p.ecosystem, p.name) for p in packages if p.category == c.TOOLCHAINS}
    for eco, graph in ((DEB, deb_graph(hist.views.get("dpkg", {}))), (APK, apk_graph(hist.views.get("apk", {})))):
        mine = {n for e, n in tools if e == eco}
        if graph is None or not mine:
            continue
        removable, stays = settle(graph.nodes, mine, graph.keep)
        held.update({(eco, n): by for n, by in stays.items()})
        if not graph.marks:
            marks = "/var/lib/apt/extended_states" if eco == DEB else "/etc/apk/world"
            notes.append(
                f"{eco}: no {marks}, so no package is known to be a dependency only: "
                "the toolchain's dependencies are not counted"
            )
            continue
        sizes: dict[str, int] = {}
        for p in packages:
            if p.ecosystem == eco:
                sizes[p.name] = sizes.get(p.name, 0) + p.size
        for m in closure(graph.nodes, removable, graph.keep):
            users = sorted({n for n, _f in m.needed_by})
            fields = sorted({f for _n, f in m.needed_by})
            shown = ", ".join(users[:4]) + (f" and {len(users) - 4} more" if len(users) > 4 else "")
            why = (
                f"only {shown} depend on it ({'/'.join(fields)}), each a toolchain package or one only the toolchain "
                f"needs; installed as a dependency (not installed on purpose per {graph.marks})"
            )
            members.append(BuildOnly(eco, m.name, m.version, sizes.get(m.name, 0), tuple(users), why))
    if any(e == RPM for e, _n in tools):
        notes.append("rpm: the toolchain's dependencies are not counted (rpm Requires are not read)")
    return tuple(members), tuple(notes), held


def package_files(
    records: list[LayerRecord], tree: FileTree, config: dict[str, Any]
) -> dict[tuple[str, str, str, str], list[str]]:
    """The final-filesystem paths each package owns, keyed (ecosystem, name, version,
    location): the same ownership package_report counts (explore highlights them)."""
    return attribution(records, tree, config, c.Classifier)[1].files


def package_report(records: list[LayerRecord], tree: FileTree, config: dict[str, Any]) -> PackageReport:
    hist, att, _classifier = attribution(records, tree, config, c.Classifier)
    return report_from(hist, att)


def report_from(hist: History, att: Attribution) -> PackageReport:
    """The package report of an attribution (`attribution` above)."""
    cats = tuple(
        CategoryBytes(
            name,
            sum(att.categories.get(name, {}).values()),
            tuple(sorted(att.categories.get(name, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:CATEGORY_PATHS]),
        )
        for name in c.NAMES
    )
    build_only = _closure(hist, att.packages)
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
        savings=tuple(savings(att.packages, att.removed, att.categories, att.unowned_tools, *build_only)),
        notes=tuple(notes),
    )
