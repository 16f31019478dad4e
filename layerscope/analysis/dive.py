"""dive 0.13.1's figures, computed its way, so that `.dive-ci` thresholds keep their meaning.

These are not layerscope's own waste figures (filetree.py): dive counts every copy of a
path seen in two layers (the visible one included), never counts opaque whiteouts, and
charges a deleted directory once at its own key. See docs/image-formats.md §12; the details
below were checked against dive's source (dive/filetree) and its 0.13.1 binary.

dive's model, reproduced here:
* One tree per layer. Every entry's parents exist as *implicit* nodes (no payload: size 0,
  not a directory) until the entry of that directory itself sets its payload. A whiteout
  `.wh.X` is a node under that raw name; opaque markers (`.wh..wh..opq`) are dropped, but
  the parents created on the way to them stay.
* Per layer, the leaves (no children) are visited children first, siblings in byte order of
  their raw names. The key of a leaf is its path, a whiteout's with the `.wh.` dropped.
* A file counts its header size. A whiteout looks its key up in the stack of the layers
  below (for layer 0: layer 0's own tree): found and an explicit directory, it counts the
  sizes of that whole subtree; found otherwise, 0; not found, the rest of the layer's walk
  is abandoned, and a key first seen there keeps dive's "unset" minimum of -1.
* score = Σ minimum / Σ cumulative over every key; wasted = Σ cumulative of keys seen twice.

The stack is the one dive builds for each whiteout (layer 0, then layers 0..k-1 on top of it,
applied children first in name order; a payload is replaced even by an implicit node), kept
incrementally here: one graft per layer, and only up to the last layer holding a whiteout.

What a LayerRecord no longer holds is taken as dive sees it in practice: whiteout entries
have size 0 and a node is a directory when its typeflag says so (dive also accepts the mode's
type bits). Known gaps, none written by Docker or BuildKit today: AUFS metadata entries
(`.wh..wh.aufs`, `.wh..wh.plnk`), which the reader drops and dive takes for whiteouts; sparse
entries, which dive sizes by their real size; a root entry named "/" with a non-zero size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from layerscope.model import DIR, DiveFigures, DiveInefficiency, LayerRecord

_WH = ".wh."


class _Node:
    """A node of a dive tree: payload (size, explicit directory) and children by raw name."""

    __slots__ = ("children", "is_dir", "size")

    def __init__(self) -> None:
        self.size = 0
        self.is_dir = False
        self.children: dict[str, _Node] = {}


def _child(node: _Node, name: str) -> _Node:
    child = node.children.get(name)
    if child is None:
        child = node.children[name] = _Node()
    return child


def _utf8(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _sorted(names: dict[str, _Node]) -> list[str]:
    """Go's sort.Strings order: bytes. Code point order is the same unless a name holds raw bytes."""
    out = sorted(names)
    if not all(n.isascii() for n in out):
        out.sort(key=_utf8)
    return out


class _Builder:
    """dive's AddPath for one layer tree, with an index of the nodes by path (no removals here)."""

    def __init__(self) -> None:
        self.root = _Node()
        self._index: dict[str, _Node] = {"": self.root}

    def node(self, path: str) -> _Node:
        """The node at `path`, its missing parents created implicitly (no payload)."""
        node = self._index.get(path)
        if node is not None:
            return node
        missing = [path]  # walk up to the nearest known node, then create downwards
        parent, _, _ = path.rpartition("/")
        while parent not in self._index:
            missing.append(parent)
            parent, _, _ = parent.rpartition("/")
        node = self._index[parent]
        for p in reversed(missing):
            node = _child(node, p.rpartition("/")[2])
            self._index[p] = node
        return node

    def add(self, path: str, size: int, is_dir: bool) -> None:
        node = self.node(path)
        node.size = size
        node.is_dir = is_dir


def _layer_tree(layer: LayerRecord) -> _Node:
    tree = _Builder()
    index = tree._index
    for f in layer.files:  # tar order: a path written twice keeps its last payload, as in dive
        # Inlined for the usual entry, whose parent exists already (one pass per file).
        path = f.path
        node = index.get(path)
        if node is None:
            parent, _, name = path.rpartition("/")
            above = index.get(parent)
            if above is None:
                node = tree.node(path)
            else:
                node = above.children[name] = index[path] = _Node()
        node.size = f.size
        node.is_dir = f.type == DIR
    for path in layer.whiteouts:
        parent, _, name = path.rpartition("/")
        tree.add(f"{parent}/{_WH}{name}" if parent else _WH + name, 0, False)
    for path in layer.opaque_dirs:
        if path:  # the marker itself is dropped; the directories leading to it stay
            tree.node(path)
    return tree.root


def _leaves(root: _Node) -> Iterator[tuple[str, _Node, bool]]:
    """(key, node, is whiteout) of every leaf, in dive's VisitDepthChildFirst order."""
    stack: list[tuple[_Node, str, Iterator[str]]] = [(root, "", iter(_sorted(root.children)))]
    while stack:
        node, path, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        child = node.children[name]
        if child.children:
            stack.append((child, f"{path}/{name}", iter(_sorted(child.children))))
        elif name.startswith(_WH):
            yield f"{path}/{name[len(_WH) :]}", child, True
        else:
            yield f"{path}/{name}", child, False


def _graft(base: _Node, upper: _Node) -> None:
    """dive's FileTree.Stack: every node of `upper`, children first: whiteouts remove, others set payload."""
    # A frame: base node at the upper node's path, the upper node, its names left, and how to
    # finish it (parent base node, raw name, whether we created the base node early).
    frames: list[tuple[_Node, _Node, Iterator[str], _Node | None, str, bool]] = [
        (base, upper, iter(_sorted(upper.children)), None, "", False)
    ]
    while frames:
        b, u, names, parent, own, created = frames[-1]
        name = next(names, None)
        if name is None:
            frames.pop()
            if parent is not None:
                _apply(parent, own, u, created and not b.children)
            continue
        child = u.children[name]
        if child.children:
            # dive creates this node when the first descendant is added; creating it now
            # changes nothing, except for a whiteout-named directory left empty (undone in _apply).
            target = b.children.get(name)
            made = target is None
            if target is None:
                target = b.children[name] = _Node()
            frames.append((target, child, iter(_sorted(child.children)), b, name, made))
        else:
            _apply(b, name, child, False)


def _apply(parent: _Node, name: str, upper: _Node, drop_early: bool) -> None:
    if name.startswith(_WH):
        if drop_early:
            del parent.children[name]
        parent.children.pop(name[len(_WH) :], None)
    else:
        node = _child(parent, name)
        node.size = upper.size
        node.is_dir = upper.is_dir


def _lookup(root: _Node, key: str) -> _Node | None:
    node = root
    for part in key.split("/"):
        if part:
            found = node.children.get(part)
            if found is None:
                return None
            node = found
    return node


def _subtree_size(node: _Node) -> int:
    total = 0
    todo = [node]
    while todo:
        n = todo.pop()
        total += n.size
        todo.extend(n.children.values())
    return total


class DiveTally:
    """dive_figures one layer at a time, bottom layer first: layers can be added as they are read.

    A layer without whiteouts takes a fast path: its leaves are its paths (opaque
    directories included) that are no other path's parent, and their order does not matter
    because nothing stops the walk. Only a whiteout needs trees: the stack of the layers
    below is built when the first one turns up, and grafted onto from then on.
    """

    def __init__(self) -> None:
        # key (a path, without dive's leading "/") -> its size when seen once (most keys:
        # no list to make), else [minimum (-1: unset), cumulative, count]
        self._entries: dict[str, int | list[int]] = {}
        # Kept as entries change, so that the figures need no pass over every key at the end.
        self._minimum = 0  # sum of the minimums (-1 for a key whose walk stopped unset)
        self._cumulative = 0
        self._repeated: list[str] = []  # keys seen twice or more, in that order
        self.layers: list[LayerRecord] = []
        self._stacked: _Node | None = None
        self._grafted = 0  # layers grafted onto self._stacked

    def add(self, layer: LayerRecord) -> None:
        idx = len(self.layers)
        self.layers.append(layer)
        if not layer.whiteouts:
            self._add_plain(layer)
            return
        entries = self._entries
        tree = _layer_tree(layer)
        below = tree if idx == 0 else self._stack_below(idx)
        for slashed, node, whiteout in _leaves(tree):
            key = slashed[1:]
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = [-1, 0, 0]
                self._minimum -= 1  # stays if the walk stops here (dive's "unset" minimum)
            elif isinstance(entry, int):
                entry = entries[key] = [entry, entry, 1]
            if whiteout:
                found = _lookup(below, key)
                if found is None:
                    break  # dive returns the lookup error from its visitor: the walk stops
                size = _subtree_size(found) if found.is_dir else 0
            else:
                size = node.size
            self._count(key, entry, size)

    def _count(self, key: str, entry: list[int], size: int) -> None:
        entry[1] += size
        self._cumulative += size
        if entry[0] < 0 or size < entry[0]:
            self._minimum += size - entry[0]
            entry[0] = size
        entry[2] += 1
        if entry[2] == 2:
            self._repeated.append(key)

    def _add_plain(self, layer: LayerRecord) -> None:
        sizes: dict[str, int] = {}
        for f in layer.files:  # a path written twice keeps its last payload
            sizes[f.path] = f.size
        for path in layer.opaque_dirs:
            if path:  # the directory stays (implicit, no payload, unless listed)
                sizes.setdefault(path, 0)
        inner: set[str] = set()
        last = None
        for path in sizes:
            parent = path.rpartition("/")[0]
            if parent == last:  # tar order: the entry before had it, and its ancestors, added
                continue
            last = parent
            while parent and parent not in inner:
                inner.add(parent)
                parent = parent.rpartition("/")[0]
        entries = self._entries
        new = 0  # bytes of keys first seen here: minimum and cumulative alike
        for path, size in sizes.items():
            if path in inner:
                continue
            entry = entries.get(path)
            if entry is None:
                entries[path] = size
                new += size
                continue
            if isinstance(entry, int):
                entry = entries[path] = [entry, entry, 1]
            self._count(path, entry, size)
        self._minimum += new
        self._cumulative += new

    def _stack_below(self, idx: int) -> _Node:
        """dive's StackTreeRange for layer idx: a copy of layer 0, then layers 0..idx-1 on top."""
        if self._stacked is None:
            self._stacked = _layer_tree(self.layers[0])
        while self._grafted < idx:
            _graft(self._stacked, _layer_tree(self.layers[self._grafted]))
            self._grafted += 1
        return self._stacked

    def figures(self) -> DiveFigures:
        """dive's efficiency, wasted bytes, user wasted percent and inefficient paths.

        `inefficient` is ordered by bytes, largest first, then by path: dive sorts by bytes
        with an unstable sort, so its order among equal sizes is not reproducible.
        """
        entries = self._entries
        minimum, cumulative = self._minimum, self._cumulative
        score = 1.0 if cumulative == 0 else float(minimum) / float(cumulative)
        inefficient = sorted(
            (DiveInefficiency("/" + k, e[2], e[1]) for k in self._repeated if isinstance(e := entries[k], list)),
            key=lambda row: (-row.bytes, _utf8(row.path)),
        )
        wasted = sum(row.bytes for row in inefficient)
        user = sum(layer.size for layer in self.layers[1:])
        # Go divides float64s: 0/0 is NaN and x/0 is +Inf; JSON has neither, so both become None.
        pct = float(wasted) / float(user) if user else math.nan
        return DiveFigures(score, wasted, user, None if math.isnan(pct) else pct, tuple(inefficient))


def dive_figures(layers: list[LayerRecord]) -> DiveFigures:
    """dive's figures for a whole image (see DiveTally)."""
    tally = DiveTally()
    for layer in layers:
        tally.add(layer)
    return tally.figures()
