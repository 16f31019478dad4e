"""Paths as package databases write them, mapped onto the paths the layer tars hold.

dpkg and rpm list `/bin/tar` and `/lib/...` while a merged-/usr image stores
`usr/bin/tar` behind a `bin -> usr/bin` symlink: every directory component is followed
through the final tree's symlinks (the last component is not: a listed symlink is itself).

Symlinks are followed as the kernel does: at most MAX_HOPS links in one lookup, nested ones
included (`l1 -> l0/l0` costs its own hop and both of l0's). A path past the limit is a loop
and stays as written. Each link's resolution (its target and the hops it took) is computed
once and remembered, as is each directory, so that links built to double the work at every
level (`lN -> l(N-1)/l(N-1)`) cost one step per link rather than 2**N.
"""

from __future__ import annotations

from layerscope.analysis.filetree import Node
from layerscope.model import SYMLINK

MAX_HOPS = 40  # the kernel's MAXSYMLINKS
MAX_PATH = 4096  # the kernel's PATH_MAX: longer paths and link targets are never resolved
_LOOP = -1  # a memoised link that takes more than MAX_HOPS hops


class _Loop(Exception):
    """More than MAX_HOPS links in one lookup."""


class Resolver:
    def __init__(self, nodes: dict[str, Node]) -> None:
        self._nodes = nodes
        self._dirs: dict[str, str] = {"": ""}  # directory as listed -> resolved
        # Every listed prefix, as a trie (parent prefix id, component) -> prefix id, with its
        # resolution and the hops that took: a path of N components costs N steps, not N**2.
        self._trie: dict[tuple[int, str], int] = {}
        self._state: list[tuple[str, int]] = [("", 0)]
        self._links: dict[str, tuple[str, int]] = {}  # resolved link path -> (its target resolved, hops)
        self._active: set[str] = set()  # links being resolved: meeting one again is a loop

    def file(self, path: str) -> str:
        parent, _, base = path.rpartition("/")
        if not parent.strip("/"):
            return path.lstrip("/") if "/" in path else path
        rp = self.dir(parent)
        return f"{rp}/{base}" if rp else base

    def dir(self, path: str) -> str:
        """Every component followed; a loop leaves the path as written (normalised)."""
        hit = self._dirs.get(path)
        if hit is not None:
            return hit
        key = path.strip("/")
        # No lookup of a path longer than PATH_MAX succeeds in the kernel (ENAMETOOLONG).
        result = _lexical(key) if len(key) > MAX_PATH else self._resolve_dir(key)
        self._dirs[path] = result
        return result

    def _resolve_dir(self, key: str) -> str:
        node = 0
        cur, hops = self._state[0]
        parts = key.split("/")
        for i, part in enumerate(parts):
            nxt = self._trie.get((node, part))
            if nxt is not None:
                node = nxt
                cur, hops = self._state[nxt]
                continue
            if hops <= MAX_HOPS:
                try:
                    cur, used = self._walk(cur, [part], 0)
                    hops += used
                except _Loop:
                    hops = MAX_HOPS + 1
            if hops > MAX_HOPS:  # a loop at or before this component: the rest stays as written
                cur = _lexical("/".join(parts[: i + 1]))
            self._state.append((cur, hops))
            self._trie[(node, part)] = node = len(self._state) - 1
        return cur

    def _walk(self, cur: str, parts: list[str], depth: int) -> tuple[str, int]:
        """Resolve `parts` from the resolved directory `cur`: (the result, hops taken)."""
        hops = 0
        for part in parts:
            if part in ("", "."):
                continue
            if part == "..":
                cur = cur.rpartition("/")[0]
                continue
            cand = f"{cur}/{part}" if cur else part
            node = self._nodes.get(cand)
            if node is None or node.record.type != SYMLINK:
                cur = cand
                continue
            cur, used = self._link(cand, depth + 1)
            hops += used
            if hops > MAX_HOPS:
                raise _Loop
        return cur, hops

    def _link(self, path: str, depth: int) -> tuple[str, int]:
        """Where the link at resolved `path` leads, resolved, and the hops that took (itself included)."""
        hit = self._links.get(path)
        if hit is not None:
            if hit[1] == _LOOP:
                raise _Loop
            return hit
        if depth > MAX_HOPS or path in self._active:
            raise _Loop  # nested deeper than the budget, or a cycle: not remembered (depends on the caller)
        target = self._nodes[path].record.linkname
        if len(target) > MAX_PATH:
            raise _Loop  # ENAMETOOLONG: unresolvable either way
        start = "" if target.startswith("/") else path.rpartition("/")[0]
        self._active.add(path)
        try:
            result, used = self._walk(start, target.split("/"), depth)
        except _Loop:
            if depth == 1:  # from the top the whole budget was available: it really is a loop
                self._links[path] = ("", _LOOP)
            raise
        finally:
            self._active.discard(path)
        if used + 1 > MAX_HOPS:
            self._links[path] = ("", _LOOP)
            raise _Loop
        self._links[path] = (result, used + 1)
        return result, used + 1


def _lexical(path: str) -> str:
    """The path with `.` and `..` taken literally: what an unresolvable path stays as."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/".join(out)
