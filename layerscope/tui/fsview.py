"""What the Files pane shows for one layer: entries marked added / modified / removed,
children per directory and aggregated directory sizes. Pure data, no Textual.

A view is built once per (layer, mode) by `FsModel`; the tree widget then asks it for one
directory's children at a time, so nothing is laid out for directories nobody opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from layerscope.model import DIR, FILE, HARDLINK, FileRecord

ADDED = "added"
MODIFIED = "modified"
REMOVED = "removed"
UNCHANGED = ""

CHANGES = "changes"  # this layer's own entries, whiteouts and what they hid
STACKED = "stacked"  # the filesystem as it stands after this layer

BY_NAME = "name"
BY_SIZE = "size"


@dataclass(frozen=True, slots=True)
class Entry:
    record: FileRecord
    layer: int  # the layer whose tar holds this record (for a removed entry: the layer that added it)
    status: str  # ADDED | MODIFIED | REMOVED | UNCHANGED
    implicit: bool = False  # a parent directory no tar listed


@dataclass(slots=True)
class FsView:
    layer: int
    mode: str
    entries: dict[str, Entry]
    children: dict[str, list[str]]  # "" is the root
    sizes: dict[str, int]  # aggregated bytes of regular files below each directory
    holds_changes: set[str]  # directories with a change somewhere below them
    _sorted: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, layer: int, mode: str, entries: dict[str, Entry]) -> FsView:
        children: dict[str, list[str]] = {}
        sizes: dict[str, int] = {}
        holds: set[str] = set()
        for path, e in entries.items():
            parent = path.rpartition("/")[0]  # posixpath.dirname costs 4x more, per entry
            children.setdefault(parent, []).append(path)
            if e.status:
                p = parent
                while p and p not in holds:
                    holds.add(p)
                    p = p.rpartition("/")[0]
            rec = e.record
            if rec.size and rec.type in (FILE, HARDLINK) and _same_side(e, entries.get(parent)):
                sizes[parent] = sizes.get(parent, 0) + rec.size
        # Deepest directories first, so each hands a finished total to its parent (root last).
        for d in sorted(children, key=lambda p: p.count("/") + 1 if p else 0, reverse=True):
            if d and d in sizes:
                parent = d.rpartition("/")[0]
                if _same_side(entries[d], entries.get(parent)):
                    sizes[parent] = sizes.get(parent, 0) + sizes[d]
        return cls(layer, mode, entries, children, sizes, holds)

    def size(self, path: str) -> int:
        e = self.entries.get(path)
        if e is None or e.record.type == DIR:
            return self.sizes.get(path, 0)
        return e.record.size

    def expandable(self, path: str) -> bool:
        return bool(self.children.get(path))

    def child_paths(self, parent: str, order: str = BY_NAME) -> list[str]:
        key = (parent, order)
        cached = self._sorted.get(key)
        if cached is None:
            kids = self.children.get(parent, [])
            cached = sorted(kids, key=lambda p: (-self.size(p), p)) if order == BY_SIZE else sorted(kids)
            self._sorted[key] = cached
        return cached

    def changed(self) -> Iterable[str]:
        return (p for p, e in self.entries.items() if e.status)

    @property
    def total(self) -> int:
        return self.sizes.get("", 0)


def _same_side(child: Entry | None, parent: Entry | None) -> bool:
    """Removed bytes add up in removed directories only; live directories show live bytes."""
    child_removed = child is not None and child.status == REMOVED
    parent_removed = parent is not None and parent.status == REMOVED
    return child_removed == parent_removed


def visible_paths(
    view: FsView, text: str = "", only_changes: bool = False, within: frozenset[str] | None = None
) -> set[str] | None:
    """Paths to show under a path filter, "only changes" and/or a set of paths (a package's
    files): the entries that pass, plus their ancestors.

    None means everything is visible (no narrowing), so the tree needs no set lookups.
    """
    if not text and not only_changes and within is None:
        return None
    needle = text.lower()
    keep: set[str] = set()
    candidates = view.entries.items() if within is None else ((p, view.entries[p]) for p in within if p in view.entries)
    for path, e in candidates:
        if only_changes and not e.status:
            continue
        if needle and needle not in "/" + path.lower():
            continue
        p = path
        while p and p not in keep:
            keep.add(p)
            p = p.rpartition("/")[0]
    return keep
