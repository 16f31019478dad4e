"""Stacking layers into the final filesystem, exactly as the OCI spec applies them, and
charging every hidden byte to the layer that added it and the layer that hid it.

Rules (image-spec layer.md; docs/image-formats.md §5): a layer's whiteouts and opaque markers
apply to the lower layers only, before the layer's own entries; a directory over a
directory merges; anything else replaces the path and its whole subtree; a hardlink
group's bytes are live while any of its names is visible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from layerscope.model import DIR, FILE, HARDLINK, FileRecord, LayerRecord, WasteEntry

# (layer, path of the entry that holds the data, its position in the layer): the position
# keeps two copies of one path in one layer apart when a hardlink holds on to the first.
InodeKey = tuple[int, str, int]
_FILES = (FILE, HARDLINK)  # what final_files counts


def _parent(path: str) -> str:
    """Paths here are normalised (no trailing '/'), so this is posixpath.dirname, faster."""
    return path.rpartition("/")[0]


@dataclass(slots=True)
class Node:
    layer: int
    record: FileRecord
    inode: InodeKey | None  # None for entries without data (dirs, empty files keep one)
    implicit: bool = False  # a parent directory the tar never listed


@dataclass(slots=True)
class FileTree:
    """The final filesystem plus what was hidden on the way there."""

    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    inode_size: dict[InodeKey, int] = field(default_factory=dict)
    # An inode's names: one name as a plain str (most inodes: no set to make per file), a set
    # once it has had two, or none left. Read them through live_inodes().
    _names: dict[InodeKey, str | set[str]] = field(default_factory=dict)
    dead: list[WasteEntry] = field(default_factory=list)
    # Kept up to date as layers are applied (a pass over every node would cost ~10 ms per
    # 50k files at the end): bytes of inodes that still have a name, visible files.
    live_size: int = 0
    file_count: int = 0

    @property
    def final_size(self) -> int:
        return self.live_size

    def live_inodes(self) -> Iterator[tuple[InodeKey, Collection[str]]]:
        """Every inode that still has a name, with its names."""
        for inode, names in self._names.items():
            if isinstance(names, str):
                yield inode, (names,)
            elif names:
                yield inode, names

    @property
    def final_files(self) -> int:
        return self.file_count

    # -- mutation ------------------------------------------------------------------------
    def _remove(self, path: str, killer: int, reason: str) -> None:
        """Remove a path and its whole subtree, charging dead data to `killer`."""
        stack = [path]
        while stack:
            p = stack.pop()
            node = self.nodes.pop(p, None)
            if node is None:
                continue
            kids = self.children.pop(p, None)
            if kids:
                stack.extend(kids)
            if node.record.type in _FILES:
                self.file_count -= 1
            if node.inode is not None:
                self._unlink(p, node.inode, killer, reason)
        parent = _parent(path)
        siblings = self.children.get(parent)
        if siblings is not None:
            siblings.discard(path)

    def _unlink(self, path: str, inode: InodeKey, killer: int, reason: str) -> None:
        """Drop one name of an inode; its bytes die with its last name."""
        names = self._names[inode]
        if isinstance(names, str):
            if names != path:
                return
            names = self._names[inode] = set()
        elif path in names:
            names.discard(path)
        else:
            return
        if not names:
            size = self.inode_size[inode]
            self.live_size -= size
            if size:
                self.dead.append(WasteEntry(inode[1], size, inode[0], killer, reason))

    def _add(self, path: str, node: Node) -> None:
        self.nodes[path] = node
        if node.record.type in _FILES:
            self.file_count += 1
        parent = _parent(path)
        self.children.setdefault(parent, set()).add(path)
        if node.inode is not None:
            self._name(node.inode, path)

    def _name(self, inode: InodeKey, path: str) -> None:
        """Give an inode one more name; its bytes are live again if it had none."""
        names = self._names.get(inode)
        if names is None:
            self._names[inode] = path
            self.live_size += self.inode_size[inode]
        elif isinstance(names, str):
            if names != path:
                self._names[inode] = {names, path}
        else:
            if not names:
                self.live_size += self.inode_size[inode]
            names.add(path)

    def _ensure_parents(self, path: str, layer: int) -> None:
        parent = _parent(path)
        missing = []
        while parent:
            node = self.nodes.get(parent)
            if node is not None and node.record.type == DIR:
                break
            if node is not None:  # a file or symlink where a directory is needed
                self._remove(parent, layer, "overwritten")
            missing.append(parent)
            parent = _parent(parent)
        for p in reversed(missing):
            self._add(p, Node(layer, FileRecord(p, DIR, 0, 0o755, 0, 0, 0), None, implicit=True))

    def apply(self, index: int, layer: LayerRecord) -> None:
        for path in layer.whiteouts:
            if path in self.nodes:
                self._remove(path, index, "deleted")
        for d in layer.opaque_dirs:
            for child in list(self.children.get(d, ())):
                self._remove(child, index, "deleted")
        in_layer: dict[str, InodeKey | None] = {}
        nodes, children, inode_size, inode_names = self.nodes, self.children, self.inode_size, self._names
        live = files = 0  # added to the running totals at the end (the helpers update them directly)
        # Tar order keeps a directory's entries together: the parent checked (and its set of
        # children) for the entry before is usually this entry's too. Anything replaced or
        # removed below forgets it.
        ok_parent: str | None = None
        ok_kids: set[str] | None = None
        for n, rec in enumerate(layer.files):
            # The usual entry, inlined (this loop runs once per file of the image): its parent
            # is a directory already, and the path is new.
            path = rec.path
            parent = path.rpartition("/")[0]
            if parent != ok_parent:
                ok_kids = None
                if parent:
                    above = nodes.get(parent)
                    if above is None or above.record.type != DIR:
                        self._ensure_parents(path, index)
                ok_parent = parent
            existing = nodes.get(path)
            if existing is not None:
                ok_parent = ok_kids = None
                if existing.record.type == DIR and rec.type == DIR:
                    # Children stay. A size in a (hand-made) directory header is the header's
                    # own, like any entry's: the new one replaces the old.
                    if existing.inode is not None:
                        self._unlink(path, existing.inode, index, "overwritten")
                        existing.inode = None
                    if rec.size:
                        existing.inode = (index, path, n)
                        inode_size[existing.inode] = rec.size
                        self._name(existing.inode, path)
                    existing.layer, existing.record, existing.implicit = index, rec, False
                    in_layer[path] = None
                    continue
                self._remove(path, index, "overwritten")
            rtype = rec.type
            inode: InodeKey | None
            if rtype == HARDLINK:
                inode = self._link_target(rec.linkname, in_layer)
            elif rec.size or rtype == FILE:
                inode = (index, path, n)  # new: no other name yet
                inode_size[inode] = rec.size
                inode_names[inode] = path
                live += rec.size
            else:
                inode = None
            in_layer[path] = inode
            nodes[path] = Node(index, rec, inode)
            if rtype in _FILES:
                files += 1
            if ok_kids is None:
                ok_kids = children.get(parent)
                if ok_kids is None:
                    ok_kids = children[parent] = set()
            ok_kids.add(path)
            if rtype == HARDLINK and inode is not None:
                self._name(inode, path)
        self.live_size += live
        self.file_count += files

    def _link_target(self, target: str, in_layer: dict[str, InodeKey | None]) -> InodeKey | None:
        if target in in_layer:
            return in_layer[target]
        node = self.nodes.get(target)  # a link to a lower layer's file
        return node.inode if node is not None else None


def stack(layers: list[LayerRecord]) -> FileTree:
    tree = FileTree()
    for i, layer in enumerate(layers):
        tree.apply(i, layer)
    return tree
