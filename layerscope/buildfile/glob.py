"""Matching a `.dockerignore` / COPY pattern without backtracking.

moby/patternmatcher compiles a pattern to a Go regexp (RE2: linear time). Python's `re`
backtracks: `a*a*a*a*a*a*b` against a long run of `a`s takes exponential time. Here the
same regular expression (tokens as the docker SDK's translate() writes them: `*` is
`[^/]*`, `?` is `[^/]`, `**` then more is `(.*/)?`, a final `**` is `.*`) runs as an NFA,
turned into a DFA lazily, one state set per prefix of the path: linear in the path, and
whether every parent directory matches comes out of the same pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIT, ONE, CLASS, STAR, DIRS, ALL = range(6)  # token kinds
_MAX_CACHED = 1 << 16  # transitions kept per pattern; beyond, the cache starts over


@dataclass(frozen=True, slots=True)
class Token:
    kind: int
    char: str = ""  # LIT
    cls: re.Pattern[str] | None = None  # CLASS: a one-character regex

    def accepts(self, c: str) -> bool:
        if self.kind == LIT:
            return c == self.char
        if self.kind == CLASS:
            return self.cls is not None and self.cls.fullmatch(c) is not None
        if self.kind in (ONE, STAR):
            return c != "/"
        return True  # DIRS, ALL: any character


def unbounded(tokens: list[Token]) -> int:
    return sum(t.kind in (STAR, DIRS, ALL) for t in tokens)


class Glob:
    """A compiled pattern: match(path) for the whole path, match_or_parent(path) for it or a parent."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self._end = len(tokens)
        self._reset()

    def _reset(self) -> None:
        start = self._closure({0})
        self._ids: dict[frozenset[int], int] = {start: 0}
        self._sets: list[frozenset[int]] = [start]
        self._next: list[dict[str, int]] = [{}]
        self._accept: list[bool] = [self._end in start]
        self._cached = 0
        self._dead = self._id(frozenset())

    def _closure(self, states: set[int]) -> frozenset[int]:
        todo = list(states)
        out = set(states)
        while todo:
            k = todo.pop()
            if k < self._end and self.tokens[k].kind in (STAR, DIRS, ALL) and k + 1 not in out:
                out.add(k + 1)  # these may match nothing
                todo.append(k + 1)
        return frozenset(out)

    def _step(self, sid: int, c: str) -> int:
        nxt = self._next[sid].get(c)
        if nxt is not None:
            return nxt
        if self._cached > _MAX_CACHED:  # bounded memory: start over from this state
            states = self._sets[sid]
            self._reset()
            sid = self._id(states)
        moved: set[int] = set()
        end = self._end
        for k in self._sets[sid]:
            if k > end:  # inside `(.*/)?` after its first character: any run, then `/` ends it
                moved.add(k)
                if c == "/":
                    moved.add(k - end)
                continue
            if k == end:
                continue
            t = self.tokens[k]
            if not t.accepts(c):
                continue
            if t.kind in (STAR, ALL):
                moved.add(k)
            elif t.kind == DIRS:
                moved.add(end + k + 1)  # in the group: `.*` may go on
                if c == "/":
                    moved.add(k + 1)  # or this `/` closes it
            else:
                moved.add(k + 1)
        target = self._id(self._closure(moved))
        self._next[sid][c] = target
        self._cached += 1
        return target

    def _id(self, states: frozenset[int]) -> int:
        sid = self._ids.get(states)
        if sid is None:
            sid = self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._next.append({})
            self._accept.append(self._end in states)
        return sid

    def _run(self, path: str, parents: bool) -> bool:
        sid = 0
        nexts, accept, dead = self._next, self._accept, self._dead
        for c in path:
            if parents and c == "/" and accept[sid]:
                return True  # the parent directory up to here matches
            nxt = nexts[sid].get(c)
            if nxt is None:
                nxt = self._step(sid, c)
                nexts, accept, dead = self._next, self._accept, self._dead  # (a reset replaces them)
            if nxt == dead:
                return False  # no state left: nothing longer can match
            sid = nxt
        return accept[sid]

    def match(self, path: str) -> bool:
        return self._run(path, False)

    def match_or_parent(self, path: str) -> bool:
        """Whether the pattern matches `path` or any prefix of it ending before a `/`."""
        return self._run(path, True)
