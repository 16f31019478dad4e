"""The package report as JSON, both ways: inside saved analyses (analysis/1) and as the body of
`packages --json` (layerscope/output/json.py)."""

from __future__ import annotations

from typing import Any

from layerscope.model import (
    BuildOnly,
    CategoryBytes,
    Package,
    PackageRebuild,
    PackageReport,
    RemovedPackage,
    Saving,
    SplitAdvice,
)


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
        "rebuild": None if p.rebuild is None else rebuild_json(p.rebuild),
        "notes": list(p.notes),
        "purl": p.purl,
    }


def rebuild_json(r: PackageRebuild) -> dict[str, Any]:
    return {
        "step_line": r.step_line,
        "step_text": r.step_text,
        "layers": list(r.layers),
        "bytes": r.bytes,
        "compressed_bytes": r.compressed_bytes,
        "seconds": r.seconds,
        "seconds_source": r.seconds_source,
        "shared_with": list(r.shared_with),
        "shared_count": r.shared_total,
        "change": r.change,
    }


def _rebuild_from(d: dict[str, Any] | None) -> PackageRebuild | None:
    if d is None:
        return None
    return PackageRebuild(d["step_line"], d["step_text"], tuple(d["layers"]), d["bytes"], d["compressed_bytes"],
                          d["seconds"], d["seconds_source"], tuple(d["shared_with"]), d.get("change", ""),
                          d.get("shared_count"))  # fmt: skip


def advice_json(x: SplitAdvice) -> dict[str, Any]:
    return {
        "step_line": x.step_line,
        "heavy": list(x.heavy),
        "heavy_bytes": x.heavy_bytes,
        "others": x.others,
        "before": rebuild_json(x.before),
        "after": rebuild_json(x.after),
        "heavy_after": rebuild_json(x.heavy_after),
        "dockerfile": x.dockerfile,
        "files": {path: text for path, text in x.files},
        "why": x.why,
    }


def _advice_from(d: dict[str, Any]) -> SplitAdvice:
    def fig(v: dict[str, Any]) -> PackageRebuild:
        r = _rebuild_from(v)
        assert r is not None
        return r

    files = tuple(d["files"].items())
    return SplitAdvice(d["step_line"], tuple(d["heavy"]), d["heavy_bytes"], d["others"], fig(d["before"]),
                       fig(d["after"]), fig(d["heavy_after"]), d["dockerfile"], files, d["why"])  # fmt: skip


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
            {
                "what": s.what,
                "bytes": s.bytes,
                "how": s.how,
                "evidence": list(s.evidence),
                "reasoning": s.reasoning,
                "closure": [
                    {
                        "ecosystem": c.ecosystem,
                        "name": c.name,
                        "version": c.version,
                        "bytes": c.bytes,
                        "needed_by": list(c.needed_by),
                        "why": c.why,
                    }
                    for c in s.closure
                ],
            }
            for s in r.savings
        ],
        "notes": list(r.notes),
        "rebuild_advice": [advice_json(x) for x in r.rebuild_advice],
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
                rebuild=_rebuild_from(p.get("rebuild")),
                notes=tuple(p.get("notes") or ()),
                purl=p.get("purl"),
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
            Saving(
                s["what"],
                s["bytes"],
                s["how"],
                tuple(s["evidence"]),
                s["reasoning"],
                tuple(
                    BuildOnly(c["ecosystem"], c["name"], c["version"], c["bytes"], tuple(c["needed_by"]), c["why"])
                    for c in s.get("closure") or ()
                ),
            )
            for s in d["savings"]
        ),
        notes=tuple(d["notes"]),
        rebuild_advice=tuple(_advice_from(x) for x in d.get("rebuild_advice") or ()),
    )
