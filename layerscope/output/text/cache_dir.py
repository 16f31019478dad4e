"""`layerscope cache-dir`'s text: where the per-layer cache is, its size, what --prune evicted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from layerscope.units import fmt_size

if TYPE_CHECKING:
    from layerscope.layers.layercache import CacheStats


def render(stats: CacheStats, pruned: tuple[int, int] | None) -> list[str]:
    """`pruned`: (entries removed, bytes freed) when --prune ran."""
    lines = [stats.root, f"{stats.entries} entries, {fmt_size(stats.bytes)}"]
    if pruned is not None:
        lines.append(f"pruned {pruned[0]} entries, freed {fmt_size(pruned[1])}")
    return lines
