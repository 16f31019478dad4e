"""`.dockerignore` with Docker's matcher semantics (moby/patternmatcher), built on the docker SDK's port.

`docker.utils.build` cleans patterns the way Docker does and translates `*`, `?`, `**` like Go. Where it
differs from moby/patternmatcher (checked against patternmatcher's own test cases in the tests), this module
wraps it: matching is case-sensitive (the SDK lower-cases both sides), `[^...]` negates (the SDK takes `^`
literally), a backslash escapes the next character, every parent directory is tried against every pattern
(the SDK skips parents shorter than the pattern, so `**/dir` missed `dir/file`), and malformed patterns are
an error instead of a literal match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from layerscope.errors import FormatError


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
    return out


def compile_pattern(cleaned: str) -> re.Pattern[str]:
    """Regex for one cleaned pattern: the SDK translates `*`, `?`, `**`; escapes and classes are ours.

    Each escape or class becomes a private-use placeholder character first (the SDK's translator keeps it
    as is), and the placeholder is replaced by its regex afterwards.
    """
    pieces: list[str] = []
    text: list[str] = []
    i, n = 0, len(cleaned)
    while i < n:
        c = cleaned[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash")
            pieces.append(re.escape(cleaned[i + 1]))
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
            pieces.append("[" + ("^" if negate else "") + "".join(members) + "]")
            i = j + 1
        else:
            text.append(c)
            i += 1
            continue
        text.append(chr(0xE000 + len(pieces) - 1))
    from docker.utils.fnmatch import translate  # the docker SDK: 75 ms of imports, only when a context is read

    regex = translate("".join(text))
    for k, piece in enumerate(pieces):
        regex = regex.replace(chr(0xE000 + k), piece)
    return re.compile(regex, re.DOTALL)


class _Rule:
    def __init__(self, line: str) -> None:
        from docker.utils.build import Pattern

        pattern = Pattern(line)
        self.exclusion: bool = pattern.exclusion
        self.cleaned: str = pattern.cleaned_pattern
        if not self.cleaned and self.exclusion:
            raise FormatError(f"illegal exclusion pattern {line!r}")
        try:
            self.regex = compile_pattern(self.cleaned)
        except (ValueError, re.error) as err:
            raise FormatError(f"bad .dockerignore pattern {line!r}: {err}") from None

    def matches(self, path: str) -> bool:
        return self.regex.match(path) is not None


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
        parts = path.split("/")
        prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts) - 1)]
        matched = False
        for rule in self.rules:
            hit = rule.matches(path) or any(rule.matches(p) for p in prefixes)
            if hit:
                matched = not rule.exclusion
        return matched

    def may_descend(self, path: str) -> bool:
        """Whether an ignored directory can still hold a re-included path (a `!` pattern below it)."""
        prefix = path.strip("/") + "/"
        return any(r.exclusion and (r.cleaned.startswith(prefix) or "*" in r.cleaned) for r in self.rules)
