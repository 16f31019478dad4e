"""Variable expansion as BuildKit's shell lexer does it for ENV, ARG, LABEL, FROM, COPY, WORKDIR, USER.

Quotes are removed ('...' literal, "..." expands), the escape character protects the next character,
and $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word} expand. Unset variables expand to "".
RUN text is never expanded here: BuildKit keys RUN by its raw text, with values in the environment.

Bounded against hostile Dockerfiles: `ARG b=$a$a`, `ARG c=$b$b`, ... doubles a value per line
(eleven lines make gigabytes), so one expanded word is at most MAX_VALUE characters and all the
expansions made for one Dockerfile (its ExpansionBudget) at most MAX_TOTAL; `${a:-${a:-...`
nests at most MAX_DEPTH deep. Braces are matched once per word, so nesting costs no rescans.
"""

from __future__ import annotations

from collections.abc import Mapping

from layerscope.errors import FormatError

MAX_VALUE = 1 << 20  # characters in one expanded word
MAX_TOTAL = 256 << 20  # characters expanded for one Dockerfile, over all its simulations
MAX_DEPTH = 64  # ${a:-${b:-...}} nesting


class ExpansionBudget:
    """What expansions for one Dockerfile may still produce (shared by all its walks)."""

    def __init__(self, limit: int = MAX_TOTAL) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise FormatError(
                f"Dockerfile variable expansions exceed {self.limit} characters in all (ARG/ENV values that multiply)"
            )


def expand(word: str, env: Mapping[str, str], escape: str = "\\", budget: ExpansionBudget | None = None) -> str:
    if "$" not in word and "'" not in word and '"' not in word and escape not in word:
        return word  # nothing to do: the common case, free
    result = _Expander(word, env, escape).run(0, len(word), 0)
    (budget or ExpansionBudget()).charge(len(result))
    return result


class _Expander:
    def __init__(self, word: str, env: Mapping[str, str], escape: str) -> None:
        self.word, self.env, self.escape = word, env, escape
        self._close: dict[int, int] | None = None

    def closing(self, i: int, end: int) -> int:
        """The `}` closing the `{` before i (braces counted as they come, quotes and all), or end."""
        if self._close is None:  # every brace pair of the word at once: nesting never rescans
            self._close = {}
            stack: list[int] = []
            for k, c in enumerate(self.word):
                if c == "{":
                    stack.append(k)
                elif c == "}" and stack:
                    self._close[stack.pop()] = k
        return min(self._close.get(i - 1, end), end)

    def run(self, i: int, n: int, depth: int) -> str:
        word, escape = self.word, self.escape
        out: list[str] = []
        size = 0
        quote: str | None = None
        while i < n:
            c = word[i]
            if quote == "'":
                if c == "'":
                    quote = None
                else:
                    out.append(c)
                i += 1
            elif c == escape and i + 1 < n:
                nxt = word[i + 1]
                if quote == '"' and nxt not in ('"', "$", escape):
                    out.append(c)  # inside double quotes only a few characters are escapable
                out.append(nxt)
                i += 2
            elif c in ("'", '"') and quote is None:
                quote = c
                i += 1
            elif c == '"' and quote == '"':
                quote = None
                i += 1
            elif c == "$":
                value, i = self.variable(i + 1, n, depth)
                out.append(value)
                size += len(value)
                if size > MAX_VALUE:
                    raise FormatError(f"Dockerfile: a variable expands to more than {MAX_VALUE} characters")
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def variable(self, i: int, n: int, depth: int) -> tuple[str, int]:
        word, env = self.word, self.env
        if i < n and word[i] == "{":
            if depth >= MAX_DEPTH:
                raise FormatError(f"Dockerfile: variable substitutions nested more than {MAX_DEPTH} deep")
            end = self.closing(i + 1, n)
            j = i + 1
            while j < end and (word[j].isalnum() or word[j] == "_"):
                j += 1
            name = word[i + 1 : j]
            value = env.get(name)
            if word.startswith(":-", j, end):
                value = value if value else self.run(j + 2, end, depth + 1)
            elif word.startswith("-", j, end):
                value = value if value is not None else self.run(j + 1, end, depth + 1)
            elif word.startswith(":+", j, end):
                value = self.run(j + 2, end, depth + 1) if value else ""
            elif word.startswith("+", j, end):
                value = self.run(j + 1, end, depth + 1) if value is not None else ""
            return value or "", end + 1
        j = i
        while j < n and (word[j].isalnum() or word[j] == "_"):
            j += 1
        if j == i:
            return "$", i  # a lone "$" stays
        return env.get(word[i:j], ""), j


def references(text: str) -> set[str]:
    """Names a word refers to with $NAME or ${NAME...} (for "does this COPY use that ARG")."""
    names: set[str] = set()
    i = 0
    while i < len(text):
        if text[i] == "$":
            j = i + 1
            if j < len(text) and text[j] == "{":
                j += 1
            k = j
            while k < len(text) and (text[k].isalnum() or text[k] == "_"):
                k += 1
            if k > j:
                names.add(text[j:k])
            i = k
        else:
            i += 1
    return names
