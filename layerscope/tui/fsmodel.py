"""Per-layer file views of one image, built on demand from its LayerRecords by stacking
them with analysis/filetree.py, the same rules `inspect` uses.

Stacking is incremental: going down the layer list applies one more layer; going back up
restacks from the bottom. Views are cached (a few) and built in a worker thread, so a lock
keeps the one mutable FileTree consistent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from layerscope.analysis.filetree import FileTree
from layerscope.model import DIR, FileRecord, LayerRecord
from layerscope.tui.fsview import ADDED, CHANGES, MODIFIED, REMOVED, STACKED, UNCHANGED, Entry, FsView

CACHED_VIEWS = 4


@dataclass(frozen=True, slots=True)
class LayerDiff:
    """What one layer did to the filesystem below it."""

    status: dict[str, str]  # every path of the layer's own entries (and new implicit parents)
    removed: dict[str, Entry]  # what its whiteouts and opaque dirs hid, subtrees included
    context: dict[str, Entry]  # existing parent directories, to hang the changes on


@dataclass(frozen=True, slots=True)
class Touch:
    layer: int
    status: str  # ADDED | MODIFIED | REMOVED


def _parent(path: str) -> str:
    return path.rpartition("/")[0]  # posixpath.dirname, minus its costs, for normalised paths


def _implicit_dir(path: str) -> FileRecord:
    return FileRecord(path, DIR, 0, 0o755, 0, 0, 0)


def diff_layer(tree: FileTree, index: int, rec: LayerRecord) -> LayerDiff:
    """Classify layer `index` against `tree`, the filesystem of the layers below it."""
    removed: dict[str, Entry] = {}

    def hide(top: str) -> None:
        stack = [top]
        while stack:
            p = stack.pop()
            node = tree.nodes.get(p)
            if node is None:
                continue
            removed[p] = Entry(node.record, node.layer, REMOVED, node.implicit)
            stack.extend(tree.children.get(p, ()))

    for path in rec.whiteouts:
        hide(path)
    for d in rec.opaque_dirs:
        for child in tree.children.get(d, ()):
            hide(child)
    status: dict[str, str] = {}
    context: dict[str, Entry] = {}
    for f in rec.files:
        old = tree.nodes.get(f.path)
        if removed.pop(f.path, None) is not None:  # hidden and written again in one layer: replaced
            status[f.path] = MODIFIED
        elif old is None:
            status[f.path] = ADDED
        elif old.record.type == DIR and f.type == DIR:
            same = (old.record.mode, old.record.uid, old.record.gid) == (f.mode, f.uid, f.gid)
            status[f.path] = UNCHANGED if same else MODIFIED
        else:
            status[f.path] = MODIFIED
    for path in list(status):
        parent = _parent(path)
        while parent and parent not in status and parent not in context:
            node = tree.nodes.get(parent)
            if removed.pop(parent, None) is not None:
                status[parent] = MODIFIED  # deleted, then created again by a child entry
            elif node is None:
                status[parent] = ADDED  # an implicit parent this layer creates
            else:
                context[parent] = Entry(node.record, node.layer, UNCHANGED, node.implicit)
            parent = _parent(parent)
    for path in list(removed):
        parent = _parent(path)
        while parent and parent not in status and parent not in context and parent not in removed:
            node = tree.nodes.get(parent)
            if node is None:  # cannot happen for a path that was in the tree; keep the parent shown
                context[parent] = Entry(_implicit_dir(parent), 0, UNCHANGED, implicit=True)
            else:
                context[parent] = Entry(node.record, node.layer, UNCHANGED, node.implicit)
            parent = _parent(parent)
    return LayerDiff(status, removed, context)


class FsModel:
    def __init__(self, records: list[LayerRecord | None]) -> None:
        self.records = records
        self.available = all(r is not None for r in records)
        self._lock = threading.Lock()
        self._tree = FileTree()
        self._stacked = 0  # layers applied to self._tree
        self._diffs: dict[int, LayerDiff] = {}
        self._views: OrderedDict[tuple[int, str], FsView] = OrderedDict()
        self._paths: dict[str, list[int]] | None = None

    def _record(self, i: int) -> LayerRecord:
        rec = self.records[i]
        assert rec is not None, "views need layer contents"
        return rec

    def _stack_to(self, n: int) -> None:
        if self._stacked > n:
            self._tree, self._stacked = FileTree(), 0
        while self._stacked < n:
            self._tree.apply(self._stacked, self._record(self._stacked))
            self._stacked += 1

    def view(self, layer: int, mode: str) -> FsView:
        with self._lock:
            key = (layer, mode)
            cached = self._views.get(key)
            if cached is not None:
                self._views.move_to_end(key)
                return cached
            if not self.available:
                built = FsView.build(layer, mode, {})
            elif mode == CHANGES:
                built = self._changes_view(layer)
            else:
                built = self._stacked_view(layer)
            self._views[key] = built
            if len(self._views) > CACHED_VIEWS:
                self._views.popitem(last=False)
            return built

    def _diff(self, layer: int) -> LayerDiff:
        diff = self._diffs.get(layer)
        if diff is None:
            self._stack_to(layer)
            diff = self._diffs[layer] = diff_layer(self._tree, layer, self._record(layer))
        return diff

    def _changes_view(self, layer: int) -> FsView:
        diff = self._diff(layer)
        entries: dict[str, Entry] = dict(diff.context)
        entries.update(diff.removed)
        for f in self._record(layer).files:
            entries[f.path] = Entry(f, layer, diff.status[f.path])
        for path, st in diff.status.items():
            if path not in entries:
                entries[path] = Entry(_implicit_dir(path), layer, st, implicit=True)
        return FsView.build(layer, CHANGES, entries)

    def _stacked_view(self, layer: int) -> FsView:
        diff = self._diff(layer)
        self._stack_to(layer + 1)
        status = diff.status
        entries = {
            path: Entry(node.record, node.layer, status.get(path, UNCHANGED), node.implicit)
            for path, node in self._tree.nodes.items()
        }
        for path, e in diff.removed.items():
            entries.setdefault(path, e)
        return FsView.build(layer, STACKED, entries)

    # -- which layers touched a path ------------------------------------------------------
    def touches(self, path: str) -> list[Touch]:
        """Every layer that wrote, replaced or deleted `path`, bottom first."""
        if not self.available:
            return []
        with self._lock:
            if self._paths is None:
                index: dict[str, list[int]] = {}
                for i in range(len(self.records)):
                    for f in self._record(i).files:
                        index.setdefault(f.path, []).append(i)
                self._paths = index
            writes = set(self._paths.get(path, ()))
        out: list[Touch] = []
        present = False
        ancestors = _ancestors(path)
        for i in range(len(self.records)):
            rec = self._record(i)
            gone = any(w == path or w in ancestors for w in rec.whiteouts)
            gone = gone or any(d in ancestors for d in rec.opaque_dirs)
            if i in writes:  # deleted and written again in one layer is one modification
                out.append(Touch(i, MODIFIED if present else ADDED))
                present = True
            elif gone and present:
                out.append(Touch(i, REMOVED))
                present = False
        return out


def _ancestors(path: str) -> set[str]:
    out = set()
    parent = _parent(path)
    while parent:
        out.add(parent)
        parent = _parent(parent)
    out.add("")
    return out
