"""Where each layer's bytes ended up: still visible in the final filesystem, or hidden by a
later layer. Built from the analysis's stacked file tree (analysis/state.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.analysis.state import tree_of
from layerscope.model import Analysis, WasteEntry


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
