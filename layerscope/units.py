"""Sizes in one place: parsing "250 MB" / "1.2 GiB" and formatting bytes for people.

Decimal units are powers of 1000 (kB, MB, GB), binary ones powers of 1024 (KiB, MiB, GiB),
as go-humanize and dive read them; "B" alone is bytes.
"""

from __future__ import annotations

import re
from decimal import Decimal

import humanize

from layerscope.errors import UsageError

_UNITS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgt", start=1):
    _UNITS[_p] = _UNITS[_p + "b"] = 1000**_i
    _UNITS[_p + "i"] = _UNITS[_p + "ib"] = 1024**_i
_SIZE = re.compile(r"^\s*([0-9]{1,30}(?:\.[0-9]{1,30})?)\s*([a-zA-Z]*)\s*$")
MAX_SIZE = 2**63 - 1  # bytes: beyond any file, image or disk (and what JSON readers take as exact)


def parse_size(text: str | int) -> int:
    """Bytes from "250 MB", "1.2 GiB" or a whole number; negative or absurd sizes are errors."""
    if isinstance(text, int):
        n = text
    else:
        m = _SIZE.match(text)
        if not m or m.group(2).lower() not in _UNITS:
            raise UsageError(f"not a size: {text[:60]!r} (examples: 250 MB, 1.2 GiB, 500000)")
        # Decimal: exact for long digit strings, where a float would round or overflow
        n = int(Decimal(m.group(1)) * _UNITS[m.group(2).lower()])
    if not 0 <= n <= MAX_SIZE:
        raise UsageError(f"not a size: {str(text)[:60]!r} (from 0 to {MAX_SIZE} bytes)")
    return n


def fmt_size(n: int | None) -> str:
    """Decimal units, like docker and dive print them."""
    if n is None:
        return "unknown"
    if n < 1000:
        return f"{n} B"
    return str(humanize.naturalsize(n, format="%.1f"))


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"
