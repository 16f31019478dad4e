"""Dependency fields of OS package databases, parsed into groups of alternatives.

dpkg (`Depends`, `Pre-Depends`, `Recommends`, `Suggests`, `Provides` of the status file;
deb-control(5)): groups separated by `,`, alternatives by `|`, each `name[:archqual]
[(op version)] [arch list] <build profiles>`. apk (`D:` and `p:` of lib/apk/db/installed,
and /etc/apk/world; apk-world(5)): space-separated tokens `name[op version][@tag]`, with
`!name` for a conflict. apt's configuration (apt.conf(5)): `Scope::Name "value";` and
`Scope { Name "value"; };`, with `//`, `/* */` and `#` comments. Unparseable pieces are
skipped: this feeds an estimate, never a failure. Version numbers are not compared: in an
installed, consistent database every dependency was satisfied when it was installed; a
version only decides whether a virtual name provided without a version may satisfy it (it
may not, as in dpkg and apk).
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


_APT_TOKEN = re.compile(r'"(?P<q>[^"]*)"|(?P<p>[{};])|(?P<w>[^\s{};"]+)')


def apt_config(texts: list[str]) -> dict[str, str]:
    """apt.conf files, in the order apt reads them, as lower-cased `a::b::c` keys and values
    (the last assignment wins; `#include` and `#clear` are not followed)."""
    out: dict[str, str] = {}
    for text in texts:
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = "\n".join(re.sub(r'^\s*#.*$|//[^"\n]*$', "", line) for line in text.splitlines())
        scope: list[str] = []
        words: list[str] = []
        for m in _APT_TOKEN.finditer(text):
            punct = m.group("p")
            if punct == "{":
                scope.append(words[0].lower() if words else "")
                words = []
            elif punct == "}":
                if scope:
                    scope.pop()
                words = []
            elif punct == ";":
                if len(words) >= 2:
                    out["::".join([*scope, words[0].lower()]).strip(":")] = words[1]
                words = []
            else:
                words.append(m.group("q") if m.group("q") is not None else m.group("w"))
    return out


def apt_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    v = value.strip().lower()
    if v in ("true", "yes", "on", "1", "enable"):
        return True
    if v in ("false", "no", "off", "0", "disable"):
        return False
    return default
