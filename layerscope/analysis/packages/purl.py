"""Package URLs (purl, github.com/package-url/purl-spec): the one encoder every ecosystem's
`purl` function (ecosystems.py) writes through.

The canonical form: `pkg:type/namespace/name@version?k=v&k=v`, qualifiers sorted by key,
empty ones left out; every character of a component other than `A-Z a-z 0-9 . - _ ~` and
`:` percent-encoded from UTF-8 (upper-case hex), so a `/`, `@`, `?` or `#` in a name or a
control character from a hostile database can never change how the purl splits
(docs/standard/characters-and-encoding.md of the spec). The values are image text: this
module only encodes them, never interprets them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_~:")
_TYPE = re.compile(r"^[a-z][a-z0-9.-]*$")
_KEY = re.compile(r"^[a-z][a-z0-9._-]*$")
_SURROGATES = re.compile("[\ud800-\udfff]")  # JSON's "\\udce9" in a conda-meta file: no UTF-8 for them


def quote(text: str) -> str:
    """`text` percent-encoded as a purl component (UTF-8; lone surrogates as U+FFFD)."""
    data = _SURROGATES.sub("\ufffd", text).encode("utf-8")  # errors="replace" would give "?" (%3F)
    return "".join(chr(b) if b in _KEPT else f"%{b:02X}" for b in data)


def encode(
    kind: str,
    namespace: str,
    name: str,
    version: str,
    qualifiers: Iterable[tuple[str, str]] = (),
) -> str | None:
    """The canonical purl of these components; None without a name (the spec requires one).

    `namespace` is one segment or "" (none): every namespace here is a vendor, the
    os-release ID, so a `/` in it is encoded rather than let image text add a segment.
    Qualifier keys are the caller's constants; a later value for the same key replaces an
    earlier one.
    """
    if not _TYPE.match(kind):
        raise ValueError(f"not a purl type: {kind!r}")
    if not name:
        return None
    out = ["pkg:", kind, "/"]
    if namespace:
        out += [quote(namespace), "/"]
    out.append(quote(name))
    if version:
        out += ["@", quote(version)]
    kept: dict[str, str] = {}
    for key, value in qualifiers:
        if not _KEY.match(key):
            raise ValueError(f"not a purl qualifier key: {key!r}")
        if value:  # an empty value is no qualifier (the spec)
            kept[key] = value
    if kept:
        out += ["?", "&".join(f"{k}={quote(kept[k])}" for k in sorted(kept))]
    return "".join(out)
