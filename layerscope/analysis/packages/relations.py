"""Dependency fields of OS package databases, parsed into groups of alternatives.

dpkg (`Depends`, `Pre-Depends`, `Recommends`, `Suggests`, `Provides` of the status file;
deb-control(5)): groups separated by `,`, alternatives by `|`, each `name[:archqual]
[(op version)] [arch list] <build profiles>`. apk (`D:` and `p:` of lib/apk/db/installed,
and /etc/apk/world; apk-world(5)): space-separated tokens `name[op version][@tag]`, with
`!name` for a conflict. Unparseable pieces are skipped: this feeds an estimate, never a
failure. Version numbers are not compared: in an installed, consistent database every
dependency was satisfied when it was installed; a version only decides whether a virtual
name provided without a version may satisfy it (it may not, as in dpkg and apk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layerscope.analysis.packages.common import stanzas


@dataclass(frozen=True, slots=True)
class Alt:
    """One alternative of a dependency, or one provided name: its name and whether a
    version is attached (a constraint for a dependency, `(= v)` for a Provides)."""

    name: str
    versioned: bool


Group = tuple[Alt, ...]  # any one alternative satisfies the dependency

_DEB_ALT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9+.\-]*)(?::[A-Za-z0-9\-]+)?\s*(?P<ver>\(\s*(?:<<|<=|>=|>>|=|<|>)\s*[^)\s]+\s*\))?"
)
_APK_TOKEN = re.compile(r"(?P<name>[^\s<>=~@!]+)(?P<ver>(?:[<>=~]+)[^\s@]*)?(?:@\S*)?$")


def deb_relations(value: str) -> tuple[Group, ...]:
    """A dpkg relationship field (Depends and the like)."""
    groups: list[Group] = []
    for part in value.split(","):
        alts = tuple(a for a in (_deb_alt(x) for x in part.split("|")) if a is not None)
        if alts:
            groups.append(alts)
    return tuple(groups)


def _deb_alt(text: str) -> Alt | None:
    m = _DEB_ALT.match(text)
    if m is None:
        return None
    rest = text[m.end() :].strip()
    # what may follow: an architecture list and build profiles (source packages only)
    if rest and not re.fullmatch(r"(\[[^\]]*\]\s*)?(<[^>]*>\s*)*", rest):
        return None
    return Alt(m.group("name").lower(), m.group("ver") is not None)


def deb_provides(value: str) -> tuple[Alt, ...]:
    return tuple(a for group in deb_relations(value) for a in group[:1])


def apk_relations(value: str) -> tuple[Group, ...]:
    """An apk `D:` line or world file: one group per token, conflicts (`!name`) left out."""
    out: list[Group] = []
    for token in value.split():
        if token.startswith("!"):
            continue
        a = _apk_alt(token)
        if a is not None:
            out.append((a,))
    return tuple(out)


def apk_provides(value: str) -> tuple[Alt, ...]:
    return tuple(g[0] for g in apk_relations(value))


def _apk_alt(token: str) -> Alt | None:
    m = _APK_TOKEN.match(token)
    if m is None:
        return None
    return Alt(m.group("name"), m.group("ver") is not None)


def apt_auto(text: str) -> set[str]:
    """Names apt marked as installed only as a dependency (`Auto-Installed: 1` in
    /var/lib/apt/extended_states); an architecture-qualified entry counts for the name."""
    auto: set[str] = set()
    for fields, _bad in stanzas(text):
        name = fields.get("Package", "").strip().lower()
        if name and fields.get("Auto-Installed", "").strip() == "1":
            auto.add(name)
    return auto
