"""Parser directives (`# syntax=`, `# escape=`, `# check=`): the `dockerfile` package does not return them.

BuildKit reads directives only from the top of the file: comment lines of the form `# key=value`, before
any blank line, other comment or instruction; each key at most once.
"""

from __future__ import annotations

import re

from layerscope.errors import FormatError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
KNOWN = ("syntax", "escape", "check")


def read_directives(text: str) -> dict[str, str]:
    """The directives at the top of a Dockerfile, keys lower-cased."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        m = _DIRECTIVE.match(line.strip())
        if m is None:
            break
        key = m.group(1).lower()
        if key not in KNOWN:
            break  # an ordinary comment ends the directive block
        if key in found:
            raise FormatError(f"Dockerfile line {number}: only one {key} parser directive can be used")
        found[key] = m.group(2)
    escape = found.get("escape")
    if escape is not None and escape not in ("\\", "`"):
        raise FormatError(f"invalid escape token {escape!r}: it must be ` or \\")
    return found
