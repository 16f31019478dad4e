"""Which figures an analysis could not know (null in JSON because unknown, not zero).

Kept apart from analyze.py so that the CLI and JSON writers name them without importing
the analysis code.
"""

from __future__ import annotations

from layerscope.model import Analysis

# What --manifest-only cannot know without reading layers: (JSON field, words for people).
CONTENT_FIGURES = (
    ("layers[].size", "uncompressed layer sizes"),
    ("layers[].files", "file counts"),
    ("totals.size", "total size"),
    ("totals.final_size", "final filesystem size"),
    ("totals.files", "final file count"),
    ("totals.wasted_bytes", "wasted bytes"),
    ("totals.efficiency", "efficiency"),
    ("waste", "hidden paths"),
    ("dive", "dive's figures"),
)
MANIFEST_ONLY_NOTE = "manifest-only: layers were not read, so these are unknown (null in JSON): " + ", ".join(
    words for _, words in CONTENT_FIGURES
)


def unknown_figures(a: Analysis) -> list[str]:
    """JSON fields that are null because nobody could know them (not because they are zero)."""
    unknown = [field for field, _ in CONTENT_FIGURES] if a.image.manifest_only else []
    if any(layer.compressed_size is None for layer in a.image.layers):
        unknown += ["layers[].compressed_size", "totals.compressed_size"]
    return unknown
