"""Bytes of the final filesystem per package, per layer and per category; dead bytes per
package version (docs/image-formats.md §10 rules 3-7).

Each visible regular file is charged once: a hardlink group (or a path reached through
`/bin` and `/usr/bin`, which resolve to one tree path) to the owner of its first owned
name, in the layer that added the data. A hidden file version (FileTree.dead) is charged
to the best claim among the installs that existed when its layer was written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from layerscope.analysis.filetree import FileTree
from layerscope.analysis.packages.categories import TOOLCHAINS, Classifier
from layerscope.analysis.packages.common import SOURCE, Found
from layerscope.analysis.packages.ecosystems import RANK, package_category, package_url
from layerscope.analysis.packages.installs import History, Install
from layerscope.analysis.packages.owners import BYTECODE, INSTALL_PATH, PROJECT, TOP_LEVEL, Claims, Inferred
from layerscope.analysis.packages.resolve import Resolver
from layerscope.model import FILE, HARDLINK, Package, RemovedPackage
from layerscope.units import fmt_size

# A CPython built from source into /usr/local (the official python:* images): no package
# database lists it, so it gets a pseudo-owner (docs/image-formats.md §10 rule 10).
_CPYTHON = re.compile(
    r"^usr/local/(lib/python(?P<v>\d+\.\d+)/(?!site-packages/|dist-packages/)|lib/libpython\d|bin/(python|pydoc|idle|2to3)"
    r"|include/python\d)"
)


@dataclass(slots=True)
class _Tally:
    size: int = 0
    files: int = 0
    inferred: int = 0
    inferred_by: dict[str, list[int]] = field(default_factory=dict)  # why -> [bytes, files]
    layers: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(slots=True)
class Attribution:
    packages: list[Package]
    removed: list[RemovedPackage]
    unattributed: dict[str, int]
    categories: dict[str, dict[str, int]]  # category -> anchor path -> bytes
    unowned_tools: dict[str, int]  # build-toolchain bytes in no package (headers), by anchor
    files: dict[tuple[str, str, str, str], list[str]]  # (ecosystem, name, version, location) -> owned paths


def attribute(tree: FileTree, hist: History, classifier: Classifier) -> Attribution:
    resolver = Resolver(tree.nodes)
    final: list[Install] = list(hist.final)
    claims = Claims(final, resolver, infer=True)
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    cpython: dict[str, int] = {}  # version -> pseudo install index

    def owner(path: str) -> tuple[int | None, Inferred]:
        hit, inferred = claims.owner(path)
        if hit is None:
            m = _CPYTHON.match(path)
            if m:
                version = m.group("v") or next(iter(cpython), "")
                if version not in cpython:
                    cpython[version] = len(final)
                    final.append(Install(Found(SOURCE, "cpython", version, "/usr/local", "source:cpython", ()), -1))
                return cpython[version], INSTALL_PATH  # no database lists a source-built CPython
        return hit, inferred

    unattributed: dict[str, int] = defaultdict(int)
    unowned_tools: dict[str, int] = defaultdict(int)
    categories: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    cat_of: dict[int, tuple[str, int]] = {}
    owned: dict[int, list[str]] = defaultdict(list)
    for inode, names in tree.live_inodes():
        chosen: tuple[int | None, str, Inferred] | None = None
        for name in sorted(names):
            node = tree.nodes.get(name)
            if node is None or node.record.type not in (FILE, HARDLINK):
                continue
            o, inferred = owner(name)
            if o is not None:
                tallies[o].files += 1
                owned[o].append(name)
            if chosen is None or (chosen[0] is None and o is not None):
                chosen = (o, name, inferred)
        if chosen is None:
            continue
        o, name, inferred = chosen
        size = tree.inode_size[inode]
        if o is None:
            unattributed["/" + name.split("/", 1)[0]] += size
            cat, anchor = classifier.classify(name, size, None, None)
            if cat == TOOLCHAINS:
                unowned_tools["/" + anchor] += size
        else:
            t = tallies[o]
            t.size += size
            t.layers[inode[0]] += size
            if inferred is not None:
                t.inferred += size
                why = t.inferred_by.setdefault(inferred, [0, 0])
                why[0] += size
                why[1] += 1
            if o not in cat_of:
                f = final[o].found
                cat_of[o] = (package_category(f.ecosystem, f.name), RANK[f.ecosystem])
            cat, anchor = classifier.classify(name, size, *cat_of[o])
        categories[cat]["/" + anchor] += size
    for idx in cpython.values():  # installed by the layer that holds most of it
        layers = tallies[idx].layers
        final[idx] = Install(final[idx].found, max(layers, key=lambda k: layers[k]) if layers else 0)
    dead, hidden_by = _dead(tree, hist, resolver)
    return Attribution(
        packages=_packages(final, tallies, claims, resolver, hist, dead),
        removed=_removed(final, hist, dead, hidden_by),
        unattributed=dict(unattributed),
        categories={k: dict(v) for k, v in categories.items()},
        unowned_tools=dict(unowned_tools),
        files={
            (i.found.ecosystem, i.found.name, i.found.version, i.found.location): owned[k] for k, i in enumerate(final)
        },
    )


def _dead(tree: FileTree, hist: History, resolver: Resolver) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Hidden bytes per install (index into hist.installs) and the layers that hid them."""
    dead: dict[int, int] = defaultdict(int)
    hidden_by: dict[int, set[int]] = defaultdict(set)
    if not tree.dead or not hist.installs:
        return dead, hidden_by
    claims = Claims(hist.installs, resolver, infer=False)
    for w in tree.dead:
        o, _ = claims.owner(resolver.file(w.path), max_layer=w.layer)
        if o is not None:
            dead[o] += w.bytes
            hidden_by[o].add(w.hidden_by)
    return dead, hidden_by


def _group_dead(hist: History, dead: dict[int, int]) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for i, b in dead.items():
        out[hist.installs[i].found.group] += b
    return out


def _packages(
    final: list[Install],
    tallies: dict[int, _Tally],
    claims: Claims,
    resolver: Resolver,
    hist: History,
    dead: dict[int, int],
) -> list[Package]:
    by_group = _group_dead(hist, dead)
    out = []
    for i, inst in enumerate(final):
        f = inst.found
        t = tallies.get(i, _Tally())
        provided_by = None
        if f.meta and RANK[f.ecosystem] > 0:
            o = claims.listed(resolver.file(f.meta[0]))
            if o is not None and o != i and RANK[final[o].found.ecosystem] < RANK[f.ecosystem]:
                provided_by = f"{final[o].found.ecosystem}:{final[o].found.name}"
        out.append(
            Package(
                name=f.name,
                version=f.version,
                ecosystem=f.ecosystem,
                size=t.size,
                files=t.files,
                layer=inst.layer,
                layers=tuple(sorted(t.layers.items())),
                location=f.location,
                dead_bytes=by_group.get(f.group, 0),
                category=package_category(f.ecosystem, f.name),
                provided_by=provided_by,
                inferred_bytes=t.inferred,
                notes=_inferred_notes(f, t),
                purl=package_url(f, hist.release),
            )
        )
    out.sort(key=lambda p: (-p.size, p.ecosystem, p.name.lower(), p.location))
    return out


def _inferred_notes(f: Found, t: _Tally) -> tuple[str, ...]:
    """What each part of inferred_bytes was inferred from, largest first."""
    out = []
    for why, (size, files) in sorted(t.inferred_by.items(), key=lambda kv: (-kv[1][0], kv[0])):
        head = f"{fmt_size(size)} in {files:,} file(s) inferred"
        if why == BYTECODE:
            what = "bytecode compiled from .py files its file list names (the .pyc are not in the list)"
        elif why == PROJECT:
            what = f"by the editable install's project directory /{f.project}"
        elif why == TOP_LEVEL:
            what = f"by top-level name ({', '.join(f.tops) or 'from its files'}) in /{f.site}, which no other dist uses"
        elif why == INSTALL_PATH:
            what = "by install path: a CPython built from source, which no package database lists"
        else:
            what = why
        out.append(f"{head}: {what}")
    return tuple(out)


def _removed(
    final: list[Install], hist: History, dead: dict[int, int], hidden_by: dict[int, set[int]]
) -> list[RemovedPackage]:
    present = {(i.found.group, i.found.version) for i in final}
    now = {i.found.group: i.found.version for i in final}
    merged: dict[tuple[tuple[str, str, str], str], list[int]] = {}
    for idx, inst in enumerate(hist.installs):
        key = (inst.found.group, inst.found.version)
        if key not in present:
            merged.setdefault(key, []).append(idx)
    out = []
    for (group, version), ids in merged.items():
        first = hist.installs[ids[0]]
        out.append(
            RemovedPackage(
                name=first.found.name,
                version=version,
                ecosystem=first.found.ecosystem,
                layer=min(hist.installs[i].layer for i in ids),
                location=first.found.location,
                dead_bytes=sum(dead.get(i, 0) for i in ids),
                hidden_by=tuple(sorted(set().union(*(hidden_by.get(i, set()) for i in ids)))),
                replaced_by=now.get(group),
            )
        )
    out.sort(key=lambda r: (-r.dead_bytes, r.ecosystem, r.name.lower(), r.version))
    return out
