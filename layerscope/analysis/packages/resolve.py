"""Paths as package databases write them, mapped onto the paths the layer tars hold.

dpkg and rpm list `/bin/tar` and `/lib/...` while a merged-/usr image stores
`usr/bin/tar` behind a `bin -> usr/bin` symlink: every directory component is followed
through the final tree's symlinks (the last component is not: a listed symlink is itself).
"""

from __future__ import annotations

import posixpath

from layerscope.analysis.filetree import Node
from layerscope.model import SYMLINK

MAX_HOPS = 40


class Resolver:
    def __init__(self, nodes: dict[str, Node]) -> None:
        self._nodes = nodes
        self._dirs: dict[str, str] = {"": ""}

    def file(self, path: str) -> str:
        if "//" in path or path.startswith("/"):
            parent, base = posixpath.split(path)
        else:  # the same split without its slash handling
            parent, _, base = path.rpartition("/")
        if not parent:
            return path
        rp = self.dir(parent)
        return f"{rp}/{base}" if rp else base

    def dir(self, path: str) -> str:
        hit = self._dirs.get(path)
        if hit is not None:
            return hit
        result = self._resolve(path, 0)
        self._dirs[path] = result
        return result

    def _resolve(self, path: str, hops: int) -> str:
        if not path:
            return ""
        if hops == 0 and path in self._dirs:
            return self._dirs[path]
        parent, base = posixpath.split(path)
        rp = self.dir(parent) if hops == 0 else self._resolve(parent, hops)
        cur = f"{rp}/{base}" if rp else base
        node = self._nodes.get(cur)
        if node is None or node.record.type != SYMLINK or hops >= MAX_HOPS:
            return cur
        target = node.record.linkname
        joined = target if target.startswith("/") else posixpath.join("/" + rp, target)
        clean = posixpath.normpath("/" + joined.lstrip("/")).lstrip("/")
        return self._resolve(clean, hops + 1)
