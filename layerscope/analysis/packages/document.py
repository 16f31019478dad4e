"""`packages --json` (layerscope.packages/1) and the package report inside saved analyses."""

from __future__ import annotations

from typing import Any

from layerscope.model import Analysis, CategoryBytes, Package, PackageReport, RemovedPackage, Saving

SCHEMA = "layerscope.packages/1"


def _package(p: Package) -> dict[str, Any]:
    return {
        "name": p.name,
        "version": p.version,
        "ecosystem": p.ecosystem,
        "size": p.size,
        "files": p.files,
        "layer": p.layer,
        "layers": {str(k): v for k, v in p.layers},
        "location": p.location,
        "dead_bytes": p.dead_bytes,
        "category": p.category,
        "provided_by": p.provided_by,
        "inferred_bytes": p.inferred_bytes,
    }


def _removed(r: RemovedPackage) -> dict[str, Any]:
    return {
        "name": r.name,
        "version": r.version,
        "ecosystem": r.ecosystem,
        "layer": r.layer,
        "location": r.location,
        "dead_bytes": r.dead_bytes,
        "hidden_by": list(r.hidden_by),
        "replaced_by": r.replaced_by,
    }


def report_json(r: PackageReport) -> dict[str, Any]:
    return {
        "packages": [_package(p) for p in r.packages],
        "removed": [_removed(x) for x in r.removed],
        "unattributed": dict(r.unattributed),
        "categories": [
            {"name": c.name, "bytes": c.bytes, "paths": [{"path": p, "bytes": b} for p, b in c.paths]}
            for c in r.categories
        ],
        "savings": [
            {"what": s.what, "bytes": s.bytes, "how": s.how, "evidence": list(s.evidence), "reasoning": s.reasoning}
            for s in r.savings
        ],
        "notes": list(r.notes),
    }


def report_from(d: dict[str, Any]) -> PackageReport:
    """The inverse of report_json (raises KeyError / TypeError / ValueError on damage)."""
    return PackageReport(
        packages=tuple(
            Package(
                name=p["name"],
                version=p["version"],
                ecosystem=p["ecosystem"],
                size=p["size"],
                files=p["files"],
                layer=p["layer"],
                layers=tuple((int(k), v) for k, v in p["layers"].items()),
                location=p["location"],
                dead_bytes=p["dead_bytes"],
                category=p["category"],
                provided_by=p["provided_by"],
                inferred_bytes=p["inferred_bytes"],
            )
            for p in d["packages"]
        ),
        removed=tuple(
            RemovedPackage(
                name=x["name"],
                version=x["version"],
                ecosystem=x["ecosystem"],
                layer=x["layer"],
                location=x["location"],
                dead_bytes=x["dead_bytes"],
                hidden_by=tuple(x["hidden_by"]),
                replaced_by=x["replaced_by"],
            )
            for x in d["removed"]
        ),
        unattributed=tuple((k, v) for k, v in d["unattributed"].items()),
        categories=tuple(
            CategoryBytes(c["name"], c["bytes"], tuple((p["path"], p["bytes"]) for p in c["paths"]))
            for c in d["categories"]
        ),
        savings=tuple(
            Saving(s["what"], s["bytes"], s["how"], tuple(s["evidence"]), s["reasoning"]) for s in d["savings"]
        ),
        notes=tuple(d["notes"]),
    )


def packages_document(a: Analysis) -> dict[str, Any]:
    img = a.image
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "reference": img.reference,
        "digest": img.digest,
        "image_id": img.config_digest,
        "platform": img.platform,
        "source": img.source,
        "final_size": a.totals.final_size,
    }
    if a.packages is None:
        doc.update(packages=None, removed=None, unattributed=None, categories=None, savings=None)
        doc["notes"] = [*img.notes, *a.notes, "package figures need layer contents (not read with --manifest-only)"]
        return doc
    doc.update(report_json(a.packages))
    doc["notes"] = [*img.notes, *a.notes, *doc["notes"]]
    return doc
