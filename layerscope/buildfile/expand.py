"""Variable expansion as BuildKit's shell lexer does it for ENV, ARG, LABEL, FROM, COPY, WORKDIR, USER.

Quotes are removed ('...' literal, "..." expands), the escape character protects the next character,
and $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word} expand. Unset variables expand to "".
RUN text is never expanded here: BuildKit keys RUN by its raw text, with values in the environment.
"""

from __future__ import annotations

from collections.abc import Mapping


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    out: list[str] = []
    i, n = 0, len(word)
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
            value, i = _variable(word, i + 1, env, escape)
            out.append(value)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _variable(word: str, i: int, env: Mapping[str, str], escape: str) -> tuple[str, int]:
    n = len(word)
    if i < n and word[i] == "{":
        end = _closing_brace(word, i + 1)
        body = word[i + 1 : end]
        name = ""
        j = 0
        while j < len(body) and (body[j].isalnum() or body[j] == "_"):
            j += 1
        name, rest = body[:j], body[j:]
        value = env.get(name)
        if rest.startswith(":-"):
            value = value if value else expand(rest[2:], env, escape)
        elif rest.startswith("-"):
            value = value if value is not None else expand(rest[1:], env, escape)
        elif rest.startswith(":+"):
            value = expand(rest[2:], env, escape) if value else ""
        elif rest.startswith("+"):
            value = expand(rest[1:], env, escape) if value is not None else ""
        return value or "", end + 1
    j = i
    while j < n and (word[j].isalnum() or word[j] == "_"):
        j += 1
    if j == i:
        return "$", i  # a lone "$" stays
    return env.get(word[i:j], ""), j


def _closing_brace(word: str, i: int) -> int:
    depth = 1
    while i < len(word):
        if word[i] == "{":
            depth += 1
        elif word[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(word)


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
