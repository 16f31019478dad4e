"""Where each layer's bytes ended up: still visible in the final filesystem, or hidden by a
later layer. Built from the stacked file tree, which is kept for the last few analyses
asked about, so that several frames and figures of one analysis stack its layers once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from layerscope.analysis.filetree import FileTree, stack
from layerscope.model import Analysis, LayerRecord, WasteEntry

_KEEP = 2
# id(analysis) -> (analysis, tree); the analysis is held so that its id cannot be reused.
_TREES: OrderedDict[int, tuple[Analysis, FileTree]] = OrderedDict()


def records_of(a: Analysis) -> list[LayerRecord] | None:
    """Every layer's record, or None when any is missing (--manifest-only, summaries)."""
    records = [layer.record for layer in a.image.layers]
    if a.image.manifest_only or any(r is None for r in records):
        return None
    return [r for r in records if r is not None]


def tree_of(a: Analysis) -> FileTree | None:
    hit = _TREES.get(id(a))
    if hit is not None and hit[0] is a:
        _TREES.move_to_end(id(a))
        return hit[1]
    records = records_of(a)
    if records is None:
        return None
    tree = stack(records)
    _TREES[id(a)] = (a, tree)
    while len(_TREES) > _KEEP:
        _TREES.popitem(last=False)
    return tree


@dataclass(frozen=True, slots=True)
class LayerBytes:
    index: int
    size: int  # the layer's size as inspect reports it (dive's)
    visible: int  # bytes this layer added that the final filesystem still shows
    hidden: int  # bytes this layer added that later layers overwrote or deleted
    hides: int  # bytes of lower layers that this layer overwrote or deleted


def per_layer(a: Analysis) -> list[LayerBytes] | None:
    tree = tree_of(a)
    if tree is None:
        return None
    n = len(a.image.layers)
    visible, hidden, hides = [0] * n, [0] * n, [0] * n
    for key, _names in tree.live_inodes():
        visible[key[0]] += tree.inode_size[key]
    for w in tree.dead:
        hidden[w.layer] += w.bytes
        hides[w.hidden_by] += w.bytes
    return [
        LayerBytes(i, layer.size if layer.size is not None else 0, visible[i], hidden[i], hides[i])
        for i, layer in enumerate(a.image.layers)
    ]


def all_waste(a: Analysis) -> tuple[WasteEntry, ...]:
    """Every hidden path (Analysis.waste keeps only the largest), largest first."""
    tree = tree_of(a)
    if tree is None:
        return a.waste
    return tuple(sorted(tree.dead, key=lambda w: (-w.bytes, w.path, w.layer)))
