"""The stacked state of one analysis: its layer records stacked into the final file tree,
and the package attribution over that tree, each worked out once and kept with the
`Analysis` (in `Analysis.derived`, never serialised).

`analyze_image` puts the tree it stacked while the layers were read here; a loaded or
copied analysis gets its state on first use. Every consumer (breakdown.py, pkgview.py,
frames, reports, `layerscope packages`, the explorer) takes the tree and the attribution
from `state_of`, so that no one stacks the layers again.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from layerscope.analysis.filetree import FileTree, stack
from layerscope.model import Analysis, Image, LayerRecord, PackageReport

if TYPE_CHECKING:
    from layerscope.analysis.packages.attribute import Attribution

# layer index -> category -> bytes still visible; path -> category of every visible file
Split = tuple[dict[int, dict[str, int]], dict[str, str]]
PackageKey = tuple[str, str, str, str]  # (ecosystem, name, version, location)


class Stacked:
    """One image's stacked tree and, on first use, its package attribution."""

    def __init__(self, image: Image, records: list[LayerRecord], tree: FileTree) -> None:
        self.image = image
        self.records = records
        self.tree = tree
        # The attribution is built by one thread at a time (the explorer asks from workers).
        self._lock = threading.Lock()
        self._attribution: Attribution | None = None
        self._report: PackageReport | None = None
        self._split: Split | None = None

    def package_report(self) -> PackageReport:
        with self._lock:
            if self._report is None:
                # imported on first use: 20 ms of imports `inspect` never needs
                from layerscope.analysis.packages import categories
                from layerscope.analysis.packages.packagereport import attribution, report_from

                hist, att, _c = attribution(self.records, self.tree, self.image.config, categories.Classifier)
                self._report = report_from(hist, att)
                if self._attribution is None:
                    self._attribution = att  # hist (the parsed databases) is not needed again
            return self._report

    def package_files(self) -> dict[PackageKey, list[str]]:
        """The final-filesystem paths each package owns: the ownership the report counts."""
        with self._lock:
            if self._attribution is None:
                from layerscope.analysis.packages import categories
                from layerscope.analysis.packages.packagereport import attribution

                _h, self._attribution, _c = attribution(
                    self.records, self.tree, self.image.config, categories.Classifier
                )
            return self._attribution.files

    def split(self) -> Split:
        """The report's categories per layer and per file: the same attribution, with a
        classifier that notes the category of every visible file, so that the per-layer
        bars always add up to the report's own category totals."""
        with self._lock:
            if self._split is None:
                from layerscope.analysis.packages import categories
                from layerscope.analysis.packages.packagereport import attribution

                _h, att, recorder = attribution(
                    self.records, self.tree, self.image.config, categories.RecordingClassifier
                )
                if self._attribution is None:
                    self._attribution = att
                tree = self.tree
                per_layer: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
                for path, category in recorder.seen.items():
                    node = tree.nodes.get(path)
                    if node is not None and node.inode is not None:
                        per_layer[node.inode[0]][category] += tree.inode_size[node.inode]
                self._split = {layer: dict(cats) for layer, cats in per_layer.items()}, recorder.seen
            return self._split


def records_of(a: Analysis) -> list[LayerRecord] | None:
    """Every layer's record, or None when any is missing (--manifest-only, summaries)."""
    records = [layer.record for layer in a.image.layers]
    if a.image.manifest_only or any(r is None for r in records):
        return None
    return [r for r in records if r is not None]


def state_of(a: Analysis) -> Stacked | None:
    """The analysis's stacked state, stacked now if it has none yet; None when a layer's
    record is missing (nothing can be stacked)."""
    records = records_of(a)
    if records is None:
        return None
    holder = a.derived
    with holder.lock:
        state = holder.state
        if isinstance(state, Stacked) and state.image is a.image:
            return state
        state = Stacked(a.image, records, stack(records))
        holder.state = state
        return state


def tree_of(a: Analysis) -> FileTree | None:
    state = state_of(a)
    return None if state is None else state.tree
