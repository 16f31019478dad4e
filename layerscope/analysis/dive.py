"""dive 0.13.1's figures, computed its way, so that `.dive-ci` thresholds keep their meaning.

These are not layerscope's own waste figures (filetree.py): dive counts every copy of a
path seen in two layers (the visible one included), never counts opaque whiteouts, and
charges a deleted directory once at its own key. See image-formats.md §12.
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass, field

from layerscope.model import DIR, DiveFigures, DiveInefficiency, LayerRecord


@dataclass(slots=True)
class _Node:
    size: int = 0
    explicit_dir: bool = False
    whiteout: bool = False
    children: dict[str, _Node] = field(default_factory=dict)


def _split(path: str) -> list[str]:
    return [p for p in posixpath.normpath(path).split("/") if p and p != "."]


def _layer_tree(layer: LayerRecord) -> _Node:
    """dive's per-layer tree: implicit parents created, opaque markers dropped."""
    root = _Node()
    entries: list[tuple[str, int, bool, bool]] = [(f.path, f.size, f.type == DIR, False) for f in layer.files]
    entries += [(w, 0, False, True) for w in layer.whiteouts]
    for path, size, is_dir, whiteout in entries:
        node = root
        for part in _split(path):
            node = node.children.setdefault(part, _Node())
        node.size = size
        node.explicit_dir = is_dir
        node.whiteout = whiteout
    return root


def _leaves(node: _Node, prefix: str = "") -> list[tuple[str, _Node]]:
    """Leaf nodes depth-first, children before parents, siblings sorted by name."""
    out: list[tuple[str, _Node]] = []
    for name in sorted(node.children):
        child = node.children[name]
        path = f"{prefix}/{name}"
        if child.children:
            out.extend(_leaves(child, path))
        else:
            out.append((path, child))
    return out


def _stack(base: _Node, upper: _Node) -> None:
    for name, child in upper.children.items():
        if child.whiteout:
            base.children.pop(name, None)
            continue
        target = base.children.get(name)
        if target is None:
            target = base.children[name] = _Node()
        if child.size or child.explicit_dir or not child.children:
            target.size = child.size
            target.explicit_dir = child.explicit_dir
        _stack(target, child)


def _lookup(root: _Node, path: str) -> _Node | None:
    node: _Node | None = root
    for part in _split(path):
        if node is None:
            return None
        node = node.children.get(part)
    return node


def _subtree_size(node: _Node) -> int:
    return node.size + sum(_subtree_size(c) for c in node.children.values())


def dive_figures(layers: list[LayerRecord]) -> DiveFigures:
    cumulative: dict[str, int] = {}
    minimum: dict[str, int] = {}
    count: dict[str, int] = {}
    stacked = _Node()
    for layer in layers:
        tree = _layer_tree(layer)
        for path, node in _leaves(tree):
            if node.whiteout:
                lower = _lookup(stacked, path)
                if lower is None:
                    break  # dive aborts the rest of this layer's walk (the error is only logged)
                size = _subtree_size(lower) if lower.explicit_dir else 0
            else:
                size = node.size
            cumulative[path] = cumulative.get(path, 0) + size
            minimum[path] = min(minimum.get(path, size), size)
            count[path] = count.get(path, 0) + 1
        _stack(stacked, tree)
    total = sum(cumulative.values())
    score = 1.0 if total == 0 else sum(minimum.values()) / total
    wasted_keys = [k for k, c in count.items() if c >= 2]
    wasted = sum(cumulative[k] for k in wasted_keys)
    user = sum(layer.size for layer in layers[1:])
    pct: float | None = None
    if user:
        pct = wasted / user
    if pct is not None and (math.isnan(pct) or math.isinf(pct)):
        pct = None
    inefficient = sorted(
        (DiveInefficiency(k, count[k], cumulative[k]) for k in wasted_keys), key=lambda e: (-e.bytes, e.path)
    )
    return DiveFigures(score, wasted, user, pct, tuple(inefficient))
