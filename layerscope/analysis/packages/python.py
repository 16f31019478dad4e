"""Python distributions: `*.dist-info` (RECORD), `*.egg-info` (installed-files.txt) and
single-file `.egg-info`, wherever they sit (docs/image-formats.md §10); an editable install's
project directory from its direct_url.json.

The site directory is the parent of the metadata directory; RECORD paths are relative to
it (`../../../bin/tool` for console scripts), installed-files.txt paths to the egg-info
directory. A dist always owns its own metadata directory, listed or not.
"""

from __future__ import annotations

import csv
import json
import posixpath
import re
import urllib.parse

from layerscope.analysis.packages.common import PYTHON, Captured, Found, decode, headers, join_rel, root_path
from layerscope.analysis.packages.purl import encode
from layerscope.analysis.packages.release import Release

_SINGLE = ""  # key of a single-file egg-info's own contents (no file in a dir has this name)
_DIRNAME = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*?)(?:-py\d.*)?\.(?:dist|egg)-info$", re.IGNORECASE)

Memo = dict[tuple[str, tuple[tuple[str, int], ...]], tuple[Found | None, tuple[str, ...]]]


def is_python_meta(path: str) -> bool:
    parent, base = posixpath.split(path)
    return parent.endswith((".dist-info", ".egg-info")) or base.endswith(".egg-info")


def find(view: Captured, memo: Memo | None = None) -> tuple[list[Found], list[str]]:
    """Every dist whose metadata is in `view` (python metadata paths only)."""
    dirs: dict[str, dict[str, tuple[int, bytes]]] = {}
    found: list[Found] = []
    notes: list[str] = []
    for path, entry in view.items():
        parent, base = posixpath.split(path)
        if parent.endswith((".dist-info", ".egg-info")):
            dirs.setdefault(parent, {})[base] = entry
        elif base.endswith(".egg-info"):
            dirs.setdefault(path, {})[_SINGLE] = entry  # single-file egg-info: it is the PKG-INFO
    memo = {} if memo is None else memo
    for d, files in dirs.items():
        key = (d, tuple(sorted((name, layer) for name, (layer, _) in files.items())))
        if key not in memo:
            memo[key] = _dist(d, files)
        dist, dist_notes = memo[key]
        notes.extend(dist_notes)
        if dist is not None:
            found.append(dist)
    return found, notes


def _dist(d: str, files: dict[str, tuple[int, bytes]]) -> tuple[Found | None, tuple[str, ...]]:
    single = _SINGLE in files
    meta_name = _SINGLE if single else "METADATA" if d.endswith(".dist-info") else "PKG-INFO"
    if meta_name not in files:
        return None, ()  # RECORD without METADATA: not an installed dist (syft skips these too)
    layer, raw = files[meta_name]
    fields = headers(decode(raw))
    m = _DIRNAME.match(posixpath.basename(d))
    name = fields.get("Name") or (m.group("name") if m else "")
    version = fields.get("Version") or (m.group("version") if m else "")
    if not name:
        return None, (f"/{d}: no Name in its metadata and none in the directory name; skipped",)
    if name == "Python":
        return None, ()  # CPython's own egg-info (syft skips it too)
    site = posixpath.dirname(d)
    notes: list[str] = []
    listed: list[str] = []
    if "RECORD" in files:
        listed, bad = _record(decode(files["RECORD"][1]), site)
        if bad:
            notes.append(f"/{d}/RECORD: {bad} malformed row(s) skipped")
    elif "installed-files.txt" in files:
        for line in decode(files["installed-files.txt"][1]).splitlines():
            p = join_rel(d, line.strip()) if line.strip() else None
            if p is not None:
                listed.append(p)
    direct = _direct_url(files["direct_url.json"][1]) if "direct_url.json" in files else None
    project = _editable_project(direct)
    meta_path = d if single else f"{d}/{meta_name}"
    tops: tuple[str, ...] = ()
    if not listed and "top_level.txt" in files:
        tops = tuple(t.strip() for t in decode(files["top_level.txt"][1]).splitlines() if t.strip())
    return (
        Found(
            ecosystem=PYTHON,
            name=name,
            version=version,
            location="/" + site if site else "/",
            key=f"{PYTHON}:{d}",
            files=tuple(listed),
            meta=(meta_path,),
            stamp=layer,
            claim_dirs=() if single else (d,),
            site=site,
            tops=tops,
            project=project,
            qualifiers=(("vcs_url", _vcs_url(direct)),),
        ),
        tuple(notes),
    )


def _direct_url(raw: bytes) -> dict[str, object] | None:
    """A PEP 610 direct_url.json document; None when it is not a JSON object."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None
    return doc if isinstance(doc, dict) else None


def _vcs_url(doc: dict[str, object] | None) -> str:
    """The purl `vcs_url` qualifier of a dist installed from version control (PEP 610
    vcs_info): `git+https://host/repo@commit`, syft's form; "" otherwise."""
    info = None if doc is None else doc.get("vcs_info")
    url = None if doc is None else doc.get("url")
    if not isinstance(info, dict) or not isinstance(url, str) or not isinstance(info.get("vcs"), str):
        return ""
    commit = info.get("commit_id")
    return f"{info['vcs']}+{url}@{commit if isinstance(commit, str) else ''}"


def purl(f: Found, release: Release | None) -> str | None:
    """`pkg:pypi/name@version`: the name as the spec's pypi type says, lower case with `_` as
    `-` (and no more: `zope.interface` keeps its dot, as in syft's purls)."""
    return encode("pypi", "", f.name.lower().replace("_", "-"), f.version, f.qualifiers)


def _editable_project(doc: dict[str, object] | None) -> str:
    """The project directory of an editable install (PEP 610 direct_url.json), root-relative; "" otherwise.

    `pip install -e DIR` leaves only a .pth file or an import hook in site-packages: the
    code stays in DIR, where nothing else would own it."""
    if doc is None:
        return ""
    info, url = doc.get("dir_info"), doc.get("url")
    if not isinstance(info, dict) or info.get("editable") is not True or not isinstance(url, str):
        return ""
    if not url.startswith("file://"):
        return ""
    path = root_path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    return path or ""


def _record(text: str, site: str) -> tuple[list[str], int]:
    """RECORD rows (`path,hash,size`): resolved paths and the count of malformed rows."""
    out: list[str] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            # without quotes or NULs the csv reader only splits at commas: skip its setup
            row = line.split(",") if '"' not in line and "\0" not in line else next(csv.reader([line]))
        except csv.Error:  # NUL bytes, broken quoting: a damaged row, not a damaged RECORD
            bad += 1
            continue
        if len(row) != 3 or not row[0].strip():
            bad += 1
            continue
        p = join_rel(site, row[0].strip())
        if p is None:
            bad += 1
            continue
        out.append(p)
    return out, bad
