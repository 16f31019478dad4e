"""The build toolchain's dependency closure: the packages only the toolchain needs.

What a multi-stage rewrite leaves behind with the compilers is also everything that came
in for them alone: gcc's libmpfr, dpkg-dev's perl, python3-dev's libpython3.X. That is
what `apt-get purge <toolchain> && apt-get autoremove` (or `apk del`) removes, and it is
worked out the way apt's autoremove does it, on the final image's package database:

* roots: every package not in the toolchain that was installed on purpose (not
  `Auto-Installed: 1` in /var/lib/apt/extended_states; for apk, named in /etc/apk/world),
  and dpkg's `Essential`, `Important` and `Protected` packages. Without the marks file
  (extended_states, world) every package counts as installed on purpose, and the closure
  is empty: nothing is known to be a dependency only;
* kept: what the roots reach through Depends, Pre-Depends and Recommends (unless the image's
  apt.conf turns APT::AutoRemove::RecommendsImportant off; apk: `D:`). Suggests never keep:
  apt's own default (SuggestsImportant) would, and the official Debian images turn it off
  (/etc/apt/apt.conf.d/docker-autoremove-suggests); what decides is the rewrite, whose runtime
  stage never installs a suggested package (tar suggests bzip2, which keeps perl),
  an alternative `a | b` by every installed alternative, a virtual name by every installed
  provider, never through a toolchain package (it is the one being removed);
* the closure: what the toolchain reaches the same way, less what is kept.

A toolchain package that a kept package hard-depends on (Depends, Pre-Depends, apk `D:`,
with no installed alternative outside the toolchain: needrestart on binutils) cannot go
without it: it is held (`settle`), with what needs it, and counts as kept.

rpm is not covered: the rpm header reader does not expose Requires/Provides, and without
dnf's install reasons every rpm package would count as installed on purpose anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from layerscope.analysis.packages import apk, dpkg
from layerscope.analysis.packages.common import APK, DEB, Captured, decode, stanzas
from layerscope.analysis.packages.relations import (
    Alt,
    Group,
    apk_provides,
    apk_relations,
    apt_auto,
    apt_bool,
    apt_config,
    deb_provides,
    deb_relations,
)

EXTENDED_STATES = dpkg.EXTENDED_STATES
APK_WORLD = apk.WORLD
_DEB_FIELDS = ("Pre-Depends", "Depends", "Recommends")
HARD = frozenset({"Pre-Depends", "Depends", "depends"})


@dataclass(frozen=True, slots=True)
class PackageNode:
    """One installed package as the dependency graph sees it."""

    name: str
    version: str
    relations: tuple[tuple[str, Group], ...]  # (field, group): every edge that keeps a package
    provides: tuple[Alt, ...] = ()
    root: bool = False  # installed on purpose (or essential): autoremove never takes it


@dataclass(frozen=True, slots=True)
class Member:
    """A package of the closure and the removed packages that depend on it."""

    name: str
    version: str
    needed_by: tuple[tuple[str, str], ...]  # (package, field)


@dataclass(frozen=True, slots=True)
class Graph:
    ecosystem: str
    nodes: dict[str, PackageNode]
    marks: str  # where "installed on purpose" came from, for the reasoning; "" when unknown
    keep: frozenset[str] | None = None  # the relation fields that keep a package (None: every one)


def _providers(nodes: dict[str, PackageNode]) -> dict[str, list[tuple[str, bool]]]:
    out: dict[str, list[tuple[str, bool]]] = {}
    for node in nodes.values():
        for p in node.provides:
            out.setdefault(p.name, []).append((node.name, p.versioned))
    return out


def _satisfiers(group: Group, nodes: dict[str, PackageNode], providers: dict[str, list[tuple[str, bool]]]) -> list[str]:
    out = []
    for alt in group:
        if alt.name in nodes:
            out.append(alt.name)
        out += [owner for owner, versioned in providers.get(alt.name, ()) if versioned or not alt.versioned]
    return out


def _targets(
    node: PackageNode,
    nodes: dict[str, PackageNode],
    providers: dict[str, list[tuple[str, bool]]],
    fields: frozenset[str] | None = None,
) -> Iterator[tuple[str, str]]:
    for field, group in node.relations:
        if fields is None or field in fields:
            for t in _satisfiers(group, nodes, providers):
                yield t, field


def _kept(
    nodes: dict[str, PackageNode],
    tools: set[str],
    providers: dict[str, list[tuple[str, bool]]],
    keep: frozenset[str] | None,
) -> set[str]:
    kept = {n for n, node in nodes.items() if node.root and n not in tools}
    todo = list(kept)
    while todo:
        for t, _field in _targets(nodes[todo.pop()], nodes, providers, keep):
            if t not in kept and t not in tools:
                kept.add(t)
                todo.append(t)
    return kept


def settle(
    nodes: dict[str, PackageNode], toolchain: Iterable[str], keep: frozenset[str] | None = None
) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    """(the toolchain packages that can go, those held: name -> the kept packages that
    hard-depend on them with no installed alternative outside the toolchain)."""
    tools = {t for t in toolchain if t in nodes}
    providers = _providers(nodes)
    held: dict[str, set[str]] = {}
    while True:
        kept = _kept(nodes, tools, providers, keep)
        new: dict[str, set[str]] = {}
        for k in sorted(kept):
            for field, group in nodes[k].relations:
                sats = _satisfiers(group, nodes, providers) if field in HARD else []
                if sats and all(s in tools for s in sats):
                    for s in sats:
                        new.setdefault(s, set()).add(k)
        if not new:
            return tools, {n: tuple(sorted(by)) for n, by in sorted(held.items())}
        for n, by in new.items():
            held.setdefault(n, set()).update(by)
        tools -= new.keys()


def closure(
    nodes: dict[str, PackageNode], toolchain: Iterable[str], keep: frozenset[str] | None = None
) -> list[Member]:
    """The packages the toolchain reaches (through any relation) that no root still needs
    (through the `keep` relations), with who needs them."""
    tools = {t for t in toolchain if t in nodes}
    providers = _providers(nodes)
    kept = _kept(nodes, tools, providers, keep)
    reached: set[str] = set()
    todo = sorted(tools)
    while todo:
        for t, _field in _targets(nodes[todo.pop()], nodes, providers):
            if t not in reached and t not in tools and t not in kept:
                reached.add(t)
                todo.append(t)
    needed: dict[str, set[tuple[str, str]]] = {n: set() for n in reached}
    for n in sorted(tools | reached):
        for t, field in _targets(nodes[n], nodes, providers):
            if t in needed and t != n:
                needed[t].add((n, field))
    return [Member(n, nodes[n].version, tuple(sorted(needed[n]))) for n in sorted(reached)]


def deb_graph(view: Captured) -> Graph | None:
    """The dpkg status file's graph, apt's marks from extended_states when present."""
    if dpkg.STATUS not in view:
        return None
    auto = apt_auto(decode(view[EXTENDED_STATES][1])) if EXTENDED_STATES in view else None
    nodes: dict[str, PackageNode] = {}
    for fields, _bad in stanzas(decode(view[dpkg.STATUS][1])):
        words = fields.get("Status", "").split()
        name = fields.get("Package", "").strip().lower()
        if not name or words[1:] != ["ok", "installed"]:
            continue
        relations = tuple((f, g) for f in _DEB_FIELDS for g in deb_relations(fields.get(f, "")))
        special = any(fields.get(f, "").strip().lower() == "yes" for f in ("Essential", "Important", "Protected"))
        old = nodes.get(name)  # a Multi-Arch: same package installed for two architectures
        nodes[name] = PackageNode(
            name,
            fields.get("Version", ""),
            relations + (old.relations if old else ()),
            deb_provides(fields.get("Provides", "")) + (old.provides if old else ()),
            root=special or auto is None or name not in auto or bool(old and old.root),
        )
    conf = apt_config([decode(view[p][1]) for p in _apt_conf_files(view)])
    keep = {"Pre-Depends", "Depends"}
    if apt_bool(conf.get("apt::autoremove::recommendsimportant"), True):
        keep.add("Recommends")
    return Graph(DEB, nodes, "/" + EXTENDED_STATES if auto is not None else "", frozenset(keep))


def _apt_conf_files(view: Captured) -> list[str]:
    """apt's configuration files in the order apt reads them: the parts directory's files
    whose names apt accepts, sorted, then the main file."""
    parts = sorted(
        p
        for p in view
        if p.startswith(dpkg.APT_CONF_D)
        and "/" not in p[len(dpkg.APT_CONF_D) :]
        and re.fullmatch(r"[A-Za-z0-9_.\-]+", p[len(dpkg.APT_CONF_D) :])
        and not p.endswith((".disabled", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".bak", ".save", "~"))
    )
    return parts + ([dpkg.APT_CONF] if dpkg.APT_CONF in view else [])


def apk_graph(view: Captured) -> Graph | None:
    """lib/apk/db/installed's graph; /etc/apk/world names what was installed on purpose."""
    db = next((d for d in apk.DBS if d in view), None)
    if db is None:
        return None
    world = {a.name for g in apk_relations(decode(view[APK_WORLD][1])) for a in g} if APK_WORLD in view else None
    nodes: dict[str, PackageNode] = {}
    for record in decode(view[db][1]).split("\n\n"):
        fields: dict[str, str] = {}
        for line in record.splitlines():
            if len(line) > 1 and line[1] == ":" and line[0] in "PVDp":
                fields.setdefault(line[0], line[2:])
        name = fields.get("P")
        if not name:
            continue
        provides = apk_provides(fields.get("p", ""))
        on_purpose = world is None or name in world or any(p.name in world for p in provides)
        nodes[name] = PackageNode(
            name,
            fields.get("V", ""),
            tuple(("depends", g) for g in apk_relations(fields.get("D", ""))),
            provides,
            root=on_purpose,
        )
    return Graph(APK, nodes, "/" + APK_WORLD if world is not None else "")
