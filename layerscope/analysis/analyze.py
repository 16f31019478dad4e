"""From an Image to an Analysis: totals, our waste, dive's figures, packages."""

from __future__ import annotations

from layerscope.analysis import exposure
from layerscope.analysis.feed import LayerFeed
from layerscope.analysis.state import Stacked
from layerscope.analysis.unknown import MANIFEST_ONLY_NOTE
from layerscope.model import Analysis, Derived, Image, LayerRecord, Totals

MAX_WASTE_ROWS = 200


def analyze_image(
    image: Image,
    packages: bool = True,
    feed: LayerFeed | None = None,
    forbid_paths: tuple[str, ...] = exposure.DEFAULT_GLOBS,
    secrets: bool = False,
) -> Analysis:
    """With ``packages=False`` the package report (a third of the work) is left out: None.

    ``forbid_paths``: the globs every layer's paths are matched against (analysis/exposure.py);
    with ``secrets``, the secrets the records' content scans found (read with scan_secrets).

    A `feed` that was given every layer of the image while it was read holds the stacked
    tree and dive's tally already; without one, the layers are fed here."""
    compressed = [layer.compressed_size for layer in image.layers]
    compressed_total = None if any(c is None for c in compressed) else sum(c or 0 for c in compressed)
    if image.manifest_only:
        totals = Totals(None, compressed_total, None, None, None, None)
        return Analysis(image, totals, notes=(MANIFEST_ONLY_NOTE,))
    records: list[LayerRecord] = [layer.record for layer in image.layers if layer.record is not None]
    if feed is None or not feed.holds(records):
        feed = LayerFeed()
        for i, record in enumerate(records):
            feed(i, record)
    tree = feed.tree
    size = sum(r.size for r in records)
    final = tree.final_size
    totals = Totals(
        size=size,
        compressed_size=compressed_total,
        final_size=final,
        wasted_bytes=size - final,
        efficiency=1.0 if size == 0 else final / size,
        files=tree.final_files,
    )
    waste = sorted(tree.dead, key=lambda w: (-w.bytes, w.path, w.layer))[:MAX_WASTE_ROWS]
    stacked = Stacked(image, records, tree)  # kept with the analysis: its consumers never stack again
    report = stacked.package_report() if packages else None
    figures = feed.dive.figures()
    found = exposure.find(image, tree, forbid_paths, secrets)
    return Analysis(image, totals, tuple(waste), figures, packages=report, exposure=found, derived=Derived(stacked))
