"""Package databases layer by layer, from the metadata each layer walk captured.

No layer is read again: LayerRecord.captured holds the contents of every metadata file
(layers/capture.py). A running view of those files is kept as the layers stack (a
whiteout, an opaque directory or a non-captured entry at the same path removes a file),
and each ecosystem whose files changed in a layer is parsed again. A package gets a new
*install* whenever it appears, its version changes, or the metadata file its package
manager rewrites on every (re)install (a dpkg `.list`, a dist's METADATA) is rewritten.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from layerscope.analysis.packages.common import Captured, Found
from layerscope.analysis.packages.ecosystems import ECOSYSTEM_BY_NAME, ECOSYSTEMS, Finder, ecosystem_of
from layerscope.analysis.packages.release import Release, final_release
from layerscope.model import LayerRecord


@dataclass(frozen=True, slots=True)
class Install:
    """One version of one package as some layer installed it."""

    found: Found
    layer: int


@dataclass(slots=True)
class History:
    installs: list[Install] = field(default_factory=list)
    final: list[Install] = field(default_factory=list)  # the installs present at the top
    notes: list[str] = field(default_factory=list)
    views: dict[str, Captured] = field(default_factory=dict)  # final captured files by ecosystem
    release: Release | None = None  # the final filesystem's os-release: the distro of its OS packages' purls


def _finders() -> dict[str, Finder]:
    return {e.name: e.new_finder() for e in ECOSYSTEMS}


def _gone(path: str, whiteouts: set[str], opaque: set[str]) -> bool:
    """Does this layer's whiteout or opaque marker hide `path` from the lower layers?"""
    if path in whiteouts:
        return True
    parent = posixpath.dirname(path)
    while parent:
        if parent in whiteouts or parent in opaque:
            return True
        parent = posixpath.dirname(parent)
    return False


def build(records: list[LayerRecord], visible: Callable[[str, int], bool]) -> History:
    """Every install over the stack; `visible(path, layer)` says whether the final tree
    still shows that layer's version of a metadata file."""
    finders = _finders()
    views: dict[str, Captured] = {eco: {} for eco in finders}
    last: dict[str, tuple[str, int | None]] = {}
    latest: dict[str, Install] = {}
    hist = History()
    seen_notes: set[str] = set()
    for i, rec in enumerate(records):
        changed: set[str] = set()
        whiteouts, opaque = set(rec.whiteouts), set(rec.opaque_dirs)
        captured = {p for p, _ in rec.captured}
        rewritten = {f.path for f in rec.files if f.path not in captured} if any(views.values()) else set()
        for eco, view in views.items():
            for p in [p for p in view if p in rewritten or ((whiteouts or opaque) and _gone(p, whiteouts, opaque))]:
                del view[p]
                changed.add(eco)
        for p, data in rec.captured:
            kind = ecosystem_of(p)
            if kind is not None:
                views[kind][p] = (i, data)
                changed.add(kind)
        for eco in sorted(changed):
            found, notes = finders[eco](views[eco])
            keys = set()
            for f in found:
                keys.add(f.key)
                if last.get(f.key) != (f.version, f.stamp):
                    last[f.key] = (f.version, f.stamp)
                    latest[f.key] = Install(f, i)
                    hist.installs.append(latest[f.key])
                else:  # same install, maybe a re-read database: keep its layer
                    latest[f.key] = Install(f, latest[f.key].layer)
            for k in [k for k in last if k.startswith(ECOSYSTEM_BY_NAME[eco].key_prefix) and k not in keys]:
                del last[k]  # removed: installing it again later is a new install
                latest.pop(k, None)
            seen_notes.update(notes)
    final_views = {eco: {p: v for p, v in view.items() if visible(p, v[0])} for eco, view in views.items()}
    for eco, view in final_views.items():
        if view != views[eco]:  # the stacking knows better than our view: parse what is really visible
            found, notes = finders[eco](view)
            seen_notes.update(notes)
            present = {f.key for f in found}
            for k in [k for k in latest if k.startswith(ECOSYSTEM_BY_NAME[eco].key_prefix) and k not in present]:
                del latest[k]
            for f in found:
                if f.key not in latest or latest[f.key].found.version != f.version:
                    latest[f.key] = Install(f, f.stamp if f.stamp is not None else len(records) - 1)
                    hist.installs.append(latest[f.key])
    hist.final = sorted(latest.values(), key=lambda x: x.found.key)
    hist.views = final_views
    hist.release = final_release(records, visible)
    hist.notes = sorted(seen_notes)
    return hist
