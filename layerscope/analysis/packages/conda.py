"""conda packages: `PREFIX/conda-meta/*.json`, files listed relative to the prefix."""

from __future__ import annotations

import json
import posixpath

from layerscope.analysis.packages.common import CONDA, Captured, Found, join_rel


def is_conda_meta(path: str) -> bool:
    parent, base = posixpath.split(path)
    return posixpath.basename(parent) == "conda-meta" and base.endswith(".json")


def find(view: Captured) -> tuple[list[Found], list[str]]:
    found: list[Found] = []
    notes: list[str] = []
    for path, (layer, raw) in view.items():
        prefix = posixpath.dirname(posixpath.dirname(path))
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            notes.append(f"/{path}: not JSON; skipped")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            notes.append(f"/{path}: no package name; skipped")
            continue
        listed = doc.get("files")
        files = []
        if isinstance(listed, list):
            for rel in listed:
                p = join_rel(prefix, rel) if isinstance(rel, str) else None
                if p is not None:
                    files.append(p)
        name = doc["name"]
        found.append(
            Found(
                ecosystem=CONDA,
                name=name,
                version=str(doc.get("version") or ""),
                location="/" + prefix,
                key=f"{CONDA}:{prefix}:{name}",
                files=tuple(files),
                meta=(path,),
                stamp=layer,
            )
        )
    return found, notes
