"""Analysis that keeps pace with reading: layers stacked as they arrive, in index order.

Layers are read in parallel and finish in any order; a layer can be stacked (and added
to dive's tally) once every layer below it is in. Most of the stacking then happens while
the last layers are still being read, instead of after all of them.
"""

from __future__ import annotations

from layerscope.analysis.dive import DiveTally
from layerscope.analysis.filetree import FileTree
from layerscope.model import LayerRecord


class LayerFeed:
    """Call with (index, record) for each layer, in any order; `tree` and `dive` grow in index order."""

    def __init__(self) -> None:
        self.tree = FileTree()
        self.dive = DiveTally()
        self.stacked = 0  # layers 0..stacked-1 are in the tree and the tally
        self._waiting: dict[int, LayerRecord] = {}

    def __call__(self, index: int, record: LayerRecord) -> None:
        self._waiting[index] = record
        while self.stacked in self._waiting:
            layer = self._waiting.pop(self.stacked)
            self.tree.apply(self.stacked, layer)
            self.dive.add(layer)
            self.stacked += 1

    def holds(self, records: list[LayerRecord]) -> bool:
        """Whether exactly these records (the image's, in order) were fed."""
        fed = self.dive.layers
        return len(fed) == len(records) and all(a is b for a, b in zip(fed, records, strict=True))
