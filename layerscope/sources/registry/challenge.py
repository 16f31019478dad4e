"""`WWW-Authenticate` parsing (RFC 7235 §4.1, RFC 9110 §11.6.1).

A header may hold several challenges, and auth-param values may be quoted strings with
commas inside (`scope="repository:a:pull,push"`) and backslash escapes, so splitting on
commas is wrong. Several header lines are concatenated as one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-cased: "bearer", "basic", ...
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased
    token68: str | None = None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def skip_list_separators(self) -> None:
        while self.peek() in (" ", "\t", ","):
            self.pos += 1

    def token(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _TCHAR:
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        self.pos += 1  # the opening quote
        out = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            self.pos += 1
            if c == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif c == '"':
                return "".join(out)
            else:
                out.append(c)
        return "".join(out)  # unterminated: take what there is

    def at_param(self) -> bool:
        """Is the next item `name = value` (an auth-param) rather than a new scheme?"""
        save = self.pos
        name = self.token()
        self.skip_ws()
        is_param = bool(name) and self.peek() == "="
        self.pos = save
        return is_param


def parse_challenges(values: str | list[str]) -> list[Challenge]:
    """Every challenge in one or more WWW-Authenticate values, in order; junk is skipped."""
    out: list[Challenge] = []
    for value in [values] if isinstance(values, str) else values:
        out.extend(_parse_one(value))
    return out


def _parse_one(value: str) -> list[Challenge]:
    s = _Scanner(value)
    out: list[Challenge] = []
    while True:
        s.skip_list_separators()
        if not s.peek():
            return out
        scheme = s.token()
        if not scheme:
            s.pos += 1  # not a token character: skip it and resynchronise
            continue
        s.skip_ws()
        params: dict[str, str] = {}
        token68 = _token68(s)
        while token68 is None and s.peek():
            s.skip_list_separators()
            if not s.at_param():
                break
            name = s.token().lower()
            s.skip_ws()
            s.pos += 1  # "="
            s.skip_ws()
            params.setdefault(name, s.quoted() if s.peek() == '"' else s.token())
            s.skip_ws()
        out.append(Challenge(scheme.lower(), params, token68))


def _token68(s: _Scanner) -> str | None:
    """`Scheme token68` (e.g. `Negotiate abc==`): a token68 is followed by a comma or the end."""
    save = s.pos
    start = s.pos
    while s.peek() and s.peek() in _TOKEN68:
        s.pos += 1
    while s.peek() == "=":
        s.pos += 1
    value = s.text[start : s.pos]
    end = s.pos
    s.skip_ws()
    if value and not value.endswith("=") and s.peek() == "=":
        s.pos = save  # it was a param name
        return None
    if value and (not s.peek() or s.peek() == ","):
        s.pos = end
        return value
    s.pos = save
    return None
