"""The JSON documents of the commands whose result is not an analysis to save: `compare --json`
(layerscope.compare/1) and `packages --json` (layerscope.packages/1), exactly the contract's
fields (docs/CONTRACT.md); `report --json` (layerscope.report/1: the file written) and
`cache-dir --json` (layerscope.cache-dir/1: the per-layer cache). `inspect --json` is in
analysis/serialize.py: a saved analysis (analysis/1) is that document plus the records, and the api reads and writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from layerscope.analysis.compare import Comparison
from layerscope.analysis.packages.document import report_json
from layerscope.model import Analysis, Totals

if TYPE_CHECKING:
    from layerscope.layers.layercache import CacheStats

COMPARE_SCHEMA = "layerscope.compare/1"
PACKAGES_SCHEMA = "layerscope.packages/1"
REPORT_SCHEMA = "layerscope.report/1"
CACHE_DIR_SCHEMA = "layerscope.cache-dir/1"


def _totals(t: Totals) -> dict[str, Any]:
    efficiency = t.efficiency
    finite = efficiency is not None and efficiency == efficiency and abs(efficiency) != float("inf")
    return {
        "size": t.size,
        "compressed_size": t.compressed_size,
        "final_size": t.final_size,
        "wasted_bytes": t.wasted_bytes,
        "efficiency": efficiency if finite else None,
        "files": t.files,
    }


def compare_document(c: Comparison) -> dict[str, Any]:
    """The contract's `compare --json` document, exactly its fields."""
    return {
        "schema": COMPARE_SCHEMA,
        "a": {"reference": c.a.image.reference, "totals": _totals(c.a.totals)},
        "b": {"reference": c.b.image.reference, "totals": _totals(c.b.totals)},
        "shared_layers": {"count": c.shared_count, "bytes": c.shared_bytes},
        "layers": [
            {"a_index": r.a_index, "b_index": r.b_index, "diff_id": r.diff_id, "a_size": r.a_size, "b_size": r.b_size}
            for r in c.layers
        ],
        "packages": None
        if c.packages is None
        else [
            {
                "ecosystem": p.ecosystem,
                "name": p.name,
                "a_version": p.a_version,
                "b_version": p.b_version,
                "a_size": p.a_size,
                "b_size": p.b_size,
                "delta": p.delta,
            }
            for p in c.packages
        ],
        "categories": None
        if c.categories is None
        else [{"name": x.name, "a_bytes": x.a_bytes, "b_bytes": x.b_bytes, "delta": x.delta} for x in c.categories],
        "saving": {
            "bytes": c.saving.bytes,
            "compressed_bytes": c.saving.compressed_bytes,
            "final_bytes": c.saving.final_bytes,
            "percent": c.saving.percent,
        },
    }


def packages_document(a: Analysis) -> dict[str, Any]:
    img = a.image
    doc: dict[str, Any] = {
        "schema": PACKAGES_SCHEMA,
        "reference": img.reference,
        "digest": img.digest,
        "image_id": img.config_digest,
        "platform": img.platform,
        "source": img.source,
        "final_size": a.totals.final_size,
    }
    if a.packages is None:
        doc.update(packages=None, removed=None, unattributed=None, categories=None, savings=None, rebuild_advice=None)
        doc["notes"] = [*img.notes, *a.notes, "package figures need layer contents (not read with --manifest-only)"]
        return doc
    doc.update(report_json(a.packages))
    doc["notes"] = [*img.notes, *a.notes, *doc["notes"]]
    return doc


def report_written_document(output: str, fmt: str, size: int) -> dict[str, Any]:
    """`report --json`: the file `layerscope report` wrote."""
    return {"schema": REPORT_SCHEMA, "output": output, "format": fmt, "bytes": size}


def cache_dir_document(stats: CacheStats, removed: int, freed: int) -> dict[str, Any]:
    """`cache-dir --json`: the per-layer cache, and what --prune evicted."""
    return {
        "schema": CACHE_DIR_SCHEMA,
        "path": stats.root,
        "entries": stats.entries,
        "bytes": stats.bytes,
        "removed": removed,
        "freed_bytes": freed,
    }
