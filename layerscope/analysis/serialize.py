"""JSON documents: the contract's `inspect --json`, and saved analyses (`--save`).

A saved analysis carries everything `inspect` reports plus every layer's file records, so
that `analysis:FILE` can stand in for the image without reading it again.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from layerscope.analysis.exposure import exposure_from, exposure_json
from layerscope.analysis.packages.document import report_from, report_json
from layerscope.analysis.unknown import unknown_figures
from layerscope.analysis.validate import check_fields, check_layers
from layerscope.errors import FormatError
from layerscope.layers.layercache import record_from_json, record_to_json
from layerscope.model import (
    Analysis,
    DiveFigures,
    DiveInefficiency,
    HistoryEntry,
    Image,
    Layer,
    Totals,
    WasteEntry,
)

INSPECT_SCHEMA = "layerscope.inspect/1"
SAVED_SCHEMA = "layerscope.analysis/1"
WASTE_ROWS = 50


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else x


def inspect_document(a: Analysis, waste_rows: int = WASTE_ROWS) -> dict[str, Any]:
    img = a.image
    doc: dict[str, Any] = {
        "schema": INSPECT_SCHEMA,
        "reference": img.reference,
        "digest": img.digest,
        "image_id": img.config_digest,
        "platform": img.platform,
        "source": img.source,
        "manifest_only": img.manifest_only,
        "unknown": unknown_figures(a),
        "layers": [
            {
                "index": layer.index,
                "digest": layer.digest,
                "diff_id": layer.diff_id,
                "media_type": layer.media_type,
                "size": layer.size,
                "compressed_size": layer.compressed_size,
                "files": layer.files,
                "created_by": layer.created_by,
                "created": layer.created,
                "history_index": layer.history_index,
            }
            for layer in img.layers
        ],
        "history": [
            {
                "index": h.index,
                "created_by": h.created_by,
                "created": h.created,
                "empty_layer": h.empty_layer,
                "layer_index": h.layer_index,
                "comment": h.comment,
            }
            for h in img.history
        ],
        "history_aligned": img.history_aligned,
        "totals": {
            "size": a.totals.size,
            "compressed_size": a.totals.compressed_size,
            "final_size": a.totals.final_size,
            "wasted_bytes": a.totals.wasted_bytes,
            "efficiency": _finite(a.totals.efficiency),
            "files": a.totals.files,
        },
        "waste": [asdict(w) for w in a.waste[:waste_rows]],
        "dive": None
        if a.dive is None
        else {
            "efficiency": _finite(a.dive.efficiency),
            "wasted_bytes": a.dive.wasted_bytes,
            "user_wasted_percent": _finite(a.dive.user_wasted_percent),
            "user_size": a.dive.user_size,
        },
        "notes": [*img.notes, *a.notes],
        "exposure": None if a.exposure is None else exposure_json(a.exposure),
    }
    return doc


def saved_document(a: Analysis, records: bool = True) -> dict[str, Any]:
    doc = inspect_document(a, waste_rows=len(a.waste))
    doc["schema"] = SAVED_SCHEMA
    doc["config"] = a.image.config
    doc["history_full"] = [asdict(h) for h in a.image.history]
    doc["image_notes"] = list(a.image.notes)
    doc["analysis_notes"] = list(a.notes)
    doc["dive_inefficient"] = [asdict(e) for e in a.dive.inefficient] if a.dive else []
    doc["packages"] = None if a.packages is None else report_json(a.packages)
    for layer_doc, layer in zip(doc["layers"], a.image.layers, strict=True):
        layer_doc["record"] = None if layer.record is None or not records else record_to_json(layer.record)
    return doc


def load_saved(raw: bytes, label: str) -> Analysis:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as err:  # RecursionError: nested thousands deep
        raise FormatError(f"{label} is not JSON: {err}") from None
    return load_saved_doc(doc, label)


def load_saved_doc(doc: Any, label: str) -> Analysis:
    if not isinstance(doc, dict) or doc.get("schema") != SAVED_SCHEMA:
        raise FormatError(f"{label} is not a saved analysis (schema {SAVED_SCHEMA}; write one with --save)")
    analysis = _analysis(doc, label)
    wrong = check_fields(analysis, "") or check_layers(analysis.image.layers, "image.layers")
    if wrong is not None:
        raise FormatError(f"{label} is a damaged saved analysis: {wrong}")
    return analysis


def _analysis(doc: dict[str, Any], label: str) -> Analysis:
    try:
        layers = tuple(
            Layer(
                index=d["index"],
                digest=d["digest"],
                diff_id=d["diff_id"],
                media_type=d["media_type"],
                compressed_size=d["compressed_size"],
                created_by=d["created_by"],
                created=d["created"],
                history_index=d["history_index"],
                record=None if d["record"] is None else record_from_json(d["record"]),
                size=d["size"],
                files=d["files"],
            )
            for d in doc["layers"]
        )
        image = Image(
            reference=doc["reference"],
            source=doc["source"],
            digest=doc["digest"],
            config_digest=doc["image_id"],
            platform=doc["platform"],
            config=doc["config"],
            layers=layers,
            history=tuple(HistoryEntry(**h) for h in doc["history_full"]),
            history_aligned=doc["history_aligned"],
            notes=tuple(doc["image_notes"]),
            manifest_only=doc["manifest_only"],
        )
        t = doc["totals"]
        dive = doc["dive"]
        return Analysis(
            image=image,
            totals=Totals(
                t["size"],
                t["compressed_size"],
                t["final_size"],
                t["wasted_bytes"],
                t["efficiency"],
                t["files"],
            ),
            waste=tuple(WasteEntry(**w) for w in doc["waste"]),
            dive=None
            if dive is None
            else DiveFigures(
                dive["efficiency"] if dive["efficiency"] is not None else float("nan"),
                dive["wasted_bytes"],
                dive["user_size"],
                dive["user_wasted_percent"],
                tuple(DiveInefficiency(**e) for e in doc["dive_inefficient"]),
            ),
            notes=tuple(doc["analysis_notes"]),
            packages=None if doc.get("packages") is None else report_from(doc["packages"]),
            exposure=exposure_from(doc.get("exposure")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise FormatError(f"{label} is a damaged saved analysis: {err!r}") from None
