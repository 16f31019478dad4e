"""`.dockerignore` with Docker's matcher semantics (moby/patternmatcher), built on the docker SDK's port.

`docker.utils.build` cleans patterns the way Docker does; `*`, `?`, `**` are read as its translate() does. Where it
differs from moby/patternmatcher (checked against patternmatcher's own test cases in the tests), this module
wraps it: matching is case-sensitive (the SDK lower-cases both sides), `[^...]` negates (the SDK takes `^`
literally), a backslash escapes the next character, every parent directory is tried against every pattern
(the SDK skips parents shorter than the pattern, so `**/dir` missed `dir/file`), and malformed patterns are
an error instead of a literal match. Matching never backtracks (glob.py): moby's Go regexps run in
linear time, and so do these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from layerscope.buildfile.glob import ALL, CLASS, DIRS, LIT, ONE, STAR, Glob, Token, unbounded
from layerscope.errors import FormatError

# Far above real ignore files (tens of lines). Every context path is tried against every
# pattern and each compiled pattern holds its matcher: 200,000 lines took 13 s and 1.1 GB
# before the Dockerfile was even read.
MAX_PATTERNS = 10_000


def read_ignore_lines(text: str) -> list[str]:
    """Patterns of an ignore file: `#` in column 1 starts a comment; blank lines and a bare `.` are skipped."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        stripped = line.strip()
        if not stripped or stripped in (".", "!."):
            continue
        out.append(stripped)
        if len(out) > MAX_PATTERNS:
            raise FormatError(f"the .dockerignore has more than {MAX_PATTERNS} patterns; layerscope reads at most that")
    return out


def pattern_tokens(cleaned: str) -> list[Token]:
    """The tokens of one cleaned pattern, as the docker SDK's translate() reads `*`, `?` and `**`;
    escapes and character classes are ours (Go's filepath.Match syntax, ValueError when malformed)."""
    items: list[Token | str] = []  # a str is a character translate() would see; a Token is done
    i, n = 0, len(cleaned)
    while i < n:
        c = cleaned[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash")
            items.append(Token(LIT, cleaned[i + 1]))
            i += 2
        elif c == "[":
            j = i + 1
            negate = j < n and cleaned[j] in "!^"
            j += 1 if negate else 0
            members: list[str] = []
            while j < n and cleaned[j] != "]":
                if cleaned[j] == "\\" and j + 1 < n:
                    members.append(re.escape(cleaned[j + 1]))
                    j += 2
                    continue
                members.append(cleaned[j] if cleaned[j] == "-" else re.escape(cleaned[j]))
                j += 1
            if j >= n or not members:
                raise ValueError("unterminated or empty character class")
            if (
                members[0] == "-"
                or members[-1] == "-"
                or any(members[k] == "-" and members[k + 2 : k + 3] == ["-"] for k in range(len(members)))
            ):
                raise ValueError("bad range in character class")
            cls = re.compile("[" + ("^" if negate else "") + "".join(members) + "]", re.DOTALL)
            items.append(Token(CLASS, cls=cls))
            i = j + 1
        else:
            items.append(c)
            i += 1
    # translate(): `**` (eating one `/` after it) is `(.*/)?`, or `.*` at the end; `*` is `[^/]*`.
    tokens: list[Token] = []
    k = 0
    while k < len(items):
        item = items[k]
        k += 1
        if isinstance(item, Token):
            tokens.append(item)
        elif item == "*":
            if k < len(items) and items[k] == "*":
                k += 1
                if k < len(items) and items[k] == "/":
                    k += 1
                tokens.append(Token(ALL if k >= len(items) else DIRS))
            else:
                tokens.append(Token(STAR))
        elif item == "?":
            tokens.append(Token(ONE))
        else:
            tokens.append(Token(LIT, item))
    return tokens


_REGEX = {ONE: "[^/]", STAR: "[^/]*", DIRS: "(?:.*/)?", ALL: ".*"}


class _Regex:
    """A pattern with at most one unbounded repetition: `re` cannot backtrack badly on it, and is fastest."""

    def __init__(self, tokens: list[Token]) -> None:
        body = "".join(
            re.escape(t.char) if t.kind == LIT else (t.cls.pattern if t.cls is not None else _REGEX[t.kind])
            for t in tokens
        )
        self._match = re.compile(body + r"\Z", re.DOTALL).match

    def match(self, path: str) -> bool:
        return self._match(path) is not None

    def match_or_parent(self, path: str) -> bool:
        if self._match(path) is not None:
            return True
        i = path.find("/")
        while i >= 0:
            if self._match(path, 0, i) is not None:
                return True
            i = path.find("/", i + 1)
        return False


def compile_pattern(cleaned: str) -> _Regex | Glob:
    """A matcher for one cleaned pattern: match(path), match_or_parent(path); linear in the path
    whatever the pattern (a pattern `re` could backtrack on runs as a DFA: see glob.py)."""
    tokens = pattern_tokens(cleaned)
    return _Regex(tokens) if unbounded(tokens) <= 1 else Glob(tokens)


class _Rule:
    def __init__(self, line: str) -> None:
        from docker.utils.build import Pattern

        pattern = Pattern(line)
        self.exclusion: bool = pattern.exclusion
        self.cleaned: str = pattern.cleaned_pattern
        if not self.cleaned and self.exclusion:
            raise FormatError(f"illegal exclusion pattern {line!r}")
        try:
            self.matcher = compile_pattern(self.cleaned)
        except (ValueError, re.error) as err:
            raise FormatError(f"bad .dockerignore pattern {line!r}: {err}") from None

    def matches(self, path: str) -> bool:
        return self.matcher.match(path)


class IgnoreMatcher:
    """`ignored(path)`: whether a context path (relative, `/`-separated) is excluded. Last match wins."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.rules = [r for r in (_Rule(p) for p in patterns) if r.cleaned]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def ignored(self, path: str) -> bool:
        path = path.rstrip("/") or path  # "dir/" is "dir"; "/" stays (patternmatcher matches "**" there)
        if not path or path == ".":
            return False
        matched = False
        for rule in self.rules:
            if rule.matcher.match_or_parent(path):  # the path itself or any parent directory
                matched = not rule.exclusion
        return matched

    def may_descend(self, path: str) -> bool:
        """Whether an ignored directory can still hold a re-included path (a `!` pattern below it)."""
        prefix = path.strip("/") + "/"
        return any(r.exclusion and (r.cleaned.startswith(prefix) or "*" in r.cleaned) for r in self.rules)
