"""Who owns a path: the claims of package file lists, resolved onto the final tree.

Several packages may list one path; the best claim wins: an OS package before conda
before a Python dist (docs/image-formats.md §10 rule 7), then the later install. A path a file
list (or a dist's own metadata directory) names is owned as listed. Every other claim is an
inference, said as such (`Inferred`): in order, the owner of the `.py` a `.pyc` was compiled
from (`pkg/__pycache__/mod.<tag>.pyc` -> `pkg/mod.py`: Debian's py3compile, bytecode
compiled after install, uv, namespace packages), an editable install whose project directory
holds it, and the only dist whose files or top_level.txt use that top-level name (or
module) in that site directory.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from layerscope.analysis.packages.common import PYTHON
from layerscope.analysis.packages.ecosystems import OWNS_META, RANK
from layerscope.analysis.packages.installs import Install
from layerscope.analysis.packages.resolve import Resolver

# Why a path was owned without a file list naming it (None: listed).
BYTECODE, PROJECT, TOP_LEVEL, INSTALL_PATH = "bytecode", "project", "top-level", "install-path"
Inferred = str | None

_SITE = re.compile(r"(^|/)(site|dist)-packages/")
_META_DIR = re.compile(r"^(.*?\.(?:dist|egg)-info)/")


def pyc_source(path: str) -> str | None:
    """The `.py` a bytecode file was compiled from (PEP 3147 layout or legacy side-by-side)."""
    if not path.endswith((".pyc", ".pyo")):
        return None
    parent, base = posixpath.split(path)
    if posixpath.basename(parent) == "__pycache__":
        mod = base.split(".", 1)[0]
        return posixpath.join(posixpath.dirname(parent), mod + ".py")
    return path[:-1]


class Claims:
    """Claims of a set of installs; `owner(path)` picks the best one."""

    def __init__(self, installs: Sequence[Install], resolver: Resolver, infer: bool) -> None:
        self.installs = installs
        self._files: dict[str, list[int]] = {}
        self._dirs: dict[str, list[int]] = {}
        self._tops: dict[tuple[str, str], set[int]] = {}
        self._projects: dict[str, list[int]] = {}  # editable installs' project directories
        self._modules: dict[str, list[int]] = {}  # single-module top-levels of dists without a file list
        for i, inst in enumerate(installs):
            f = inst.found
            # a dist's or a conda package's metadata is its own; dpkg/apk/rpm databases are shared
            for p in (*f.files, *f.meta) if f.ecosystem in OWNS_META else f.files:
                self._files.setdefault(resolver.file(p), []).append(i)
            for d in f.claim_dirs:
                self._dirs.setdefault(resolver.dir(d), []).append(i)
            if infer and f.ecosystem == PYTHON and f.site:
                self._add_tops(i, resolver.dir(f.site), [resolver.file(p) for p in f.files], f.tops)
            if infer and f.project:
                self._projects.setdefault(resolver.dir(f.project), []).append(i)

    def _add_tops(self, i: int, site: str, files: list[str], tops: tuple[str, ...]) -> None:
        prefix = site + "/"
        names = set(tops)
        for p in files:
            if p.startswith(prefix):
                rest = p[len(prefix) :]
                top, sep, _ = rest.partition("/")
                if sep and top != "__pycache__" and not top.endswith((".dist-info", ".egg-info")):
                    names.add(top)
        for top in names:
            self._tops.setdefault((site, top), set()).add(i)
        for top in tops:  # a dist without a file list: its single-module top-levels too
            self._modules.setdefault(f"{prefix}{top}.py", []).append(i)

    def _project_owner(self, path: str, max_layer: int | None) -> int | None:
        """The editable install whose project directory holds the path (the innermost one)."""
        parent = path.rpartition("/")[0]
        while parent:
            ids = self._projects.get(parent)
            if ids:
                return self._best(ids, max_layer)
            parent = parent.rpartition("/")[0]
        return None

    def _best(self, ids: list[int], max_layer: int | None) -> int | None:
        best: tuple[int, int, str] | None = None
        pick = None
        for i in ids:
            inst = self.installs[i]
            if max_layer is not None and inst.layer > max_layer:
                continue
            score = (RANK[inst.found.ecosystem], -inst.layer, inst.found.key)
            if best is None or score < best:
                best, pick = score, i
        return pick

    def listed(self, path: str, max_layer: int | None = None) -> int | None:
        """The best claim by a file list or a metadata directory."""
        ids = self._files.get(path)
        if ids:
            hit = self._best(ids, max_layer)
            if hit is not None:
                return hit
        m = _META_DIR.match(path)
        if m:
            ids = self._dirs.get(m.group(1))
            if ids:
                return self._best(ids, max_layer)
        return None

    def owner(self, path: str, max_layer: int | None = None) -> tuple[int | None, Inferred]:
        """(install index, why inferred) of the path's owner: None for why when a file list
        names the path; (None, None) when nobody owns it."""
        hit = self.listed(path, max_layer)
        if hit is not None:
            return hit, None
        src = pyc_source(path)
        if src is not None:
            hit = self.listed(src, max_layer)
            if hit is not None:
                return hit, BYTECODE
        if self._projects:
            hit = self._project_owner(path, max_layer)
            if hit is not None:
                return hit, PROJECT
        if self._modules:
            modules = self._modules.get(path if src is None else src)
            if modules:
                hit = self._best(modules, max_layer)
                if hit is not None:
                    return hit, TOP_LEVEL
        m = _SITE.search(path)
        if m and self._tops:
            site = path[: m.end() - 1]
            top = path[m.end() :].partition("/")[0]
            ids = self._tops.get((site, top))
            if ids and len(ids) == 1:
                (only,) = ids
                if max_layer is None or self.installs[only].layer <= max_layer:
                    return only, TOP_LEVEL
        return None, None
