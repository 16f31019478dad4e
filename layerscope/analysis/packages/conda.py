"""conda packages: `PREFIX/conda-meta/*.json`, files listed relative to the prefix."""

from __future__ import annotations

import json
import posixpath

from layerscope.analysis.packages.common import CONDA, Captured, Found, join_rel
from layerscope.analysis.packages.purl import encode
from layerscope.analysis.packages.release import Release


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
                qualifiers=_qualifiers(doc),
            )
        )
    return found, notes


def _text(doc: dict[str, object], key: str) -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else ""


def _qualifiers(doc: dict[str, object]) -> tuple[tuple[str, str], ...]:
    """The spec's conda qualifiers: build string, channel name, subdir, archive type.

    conda-meta's `channel` is the channel's URL with the subdir
    (`https://conda.anaconda.org/conda-forge/noarch`); the purl names the channel
    (`conda-forge`, the spec's example has `channel=main`)."""
    subdir = _text(doc, "subdir")
    parts = [p for p in _text(doc, "channel").split("/") if p]
    if parts and subdir and parts[-1] == subdir:
        parts.pop()
    fn = _text(doc, "fn")
    kind = "tar.bz2" if fn.endswith(".tar.bz2") else "conda" if fn.endswith(".conda") else ""
    return (("build", _text(doc, "build")), ("channel", parts[-1] if parts else ""), ("subdir", subdir), ("type", kind))


def purl(f: Found, release: Release | None) -> str | None:
    """`pkg:conda/name@version?build=..&channel=..&subdir=..&type=..` (the spec's conda type:
    no namespace, no distro)."""
    return encode("conda", "", f.name, f.version, f.qualifiers)
