"""dpkg: `var/lib/dpkg/status` (or distroless `status.d/*`), file lists in
`info/<pkg>[:<arch>].list` (or `.md5sums`), and `diversions` (docs/image-formats.md §10).

Only `... ok installed` stanzas count; a status.d stanza has no Status field and counts
when it has a Version (name-only stubs follow some real entries), unless a Status says otherwise.
A diverted path belongs to the diverting package; every other package that lists it
really installed it at the diversion's target.
"""

from __future__ import annotations

import re

from layerscope.analysis.packages.common import DEB, Captured, Found, decode, root_path, stanzas
from layerscope.analysis.packages.purl import encode
from layerscope.analysis.packages.release import Release

ROOT = "var/lib/dpkg/"
STATUS = ROOT + "status"
STATUS_D = ROOT + "status.d/"
INFO = ROOT + "info/"
DIVERSIONS = ROOT + "diversions"
# apt's marks (Auto-Installed), read for the toolchain's dependency closure (closure.py)
EXTENDED_STATES = "var/lib/apt/extended_states"
APT_CONF, APT_CONF_D = "etc/apt/apt.conf", "etc/apt/apt.conf.d/"  # its AutoRemove settings, likewise
_SOURCE = re.compile(r"^(\S+)(?:\s*\((.*)\))?")  # `Source: name` or `Source: name (version)`


def is_dpkg_meta(path: str) -> bool:
    return path.startswith((ROOT, APT_CONF_D)) or path in (EXTENDED_STATES, APT_CONF)


def diversions(text: str) -> dict[str, tuple[str, str]]:
    """original path -> (diverted-to path, diverting package; ':' for a local diversion)."""
    lines = [line.strip() for line in text.splitlines()]
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(lines) - 2, 3):
        src, dst = root_path(lines[i]), root_path(lines[i + 1])
        if src and dst:
            out[src] = (dst, lines[i + 2])
    return out


def _installed(fields: dict[str, str], need_status: bool) -> bool:
    if not fields.get("Package"):
        return False
    if not need_status and "Status" not in fields:  # distroless status.d: a stanza with a version is installed
        return bool(fields.get("Version"))
    words = fields.get("Status", "").split()
    return len(words) == 3 and words[1] == "ok" and words[2] == "installed"


def find(view: Captured) -> tuple[list[Found], list[str]]:
    notes: list[str] = []
    entries: list[tuple[dict[str, str], str, int]] = []  # stanza, its file, that file's layer
    sources = [(STATUS, True)] if STATUS in view else []
    sources += [(p, False) for p in sorted(view) if p.startswith(STATUS_D) and not p.endswith(".md5sums")]
    for path, need_status in sources:
        layer, raw = view[path]
        bad_total = 0
        for fields, bad in stanzas(decode(raw)):
            bad_total += bad
            if _installed(fields, need_status):
                entries.append((fields, path, layer))
        if bad_total:
            notes.append(f"/{path}: {bad_total} malformed line(s) skipped")
    div = diversions(decode(view[DIVERSIONS][1])) if DIVERSIONS in view else {}
    found: list[Found] = []
    for fields, path, _layer in entries:
        name = fields["Package"]
        arch = fields.get("Architecture", "")
        files, list_path = _files(view, name, arch, path)
        stamp = view[list_path][0] if list_path else None
        files = [_divert(p, name, div) for p in files]
        found.append(
            Found(
                ecosystem=DEB,
                name=name,
                version=fields.get("Version", ""),
                location="/" + path,
                key=f"{DEB}:{name}:{arch}",
                files=tuple(files),
                meta=(path,) + ((list_path,) if list_path else ()),
                stamp=stamp,
                qualifiers=(("arch", arch), ("upstream", _upstream(fields.get("Source", "")))),
            )
        )
    return found, notes


def _upstream(source: str) -> str:
    """The purl `upstream` qualifier (syft's) of a `Source:` field: `name` or `name@version`."""
    m = _SOURCE.match(source.strip())
    if m is None:
        return ""
    name, version = m.group(1), (m.group(2) or "").strip()
    return f"{name}@{version}" if version else name


def purl(f: Found, release: Release | None) -> str | None:
    """`pkg:deb/<ID>/name@version?arch=..&distro=ID-VERSION_ID&upstream=..`; None unless the
    image's os-release says it is Debian or derived from it (syft gives none then either)."""
    if release is None or not release.like("debian"):
        return None
    return encode("deb", release.id.lower(), f.name.lower(), f.version, (*f.qualifiers, ("distro", release.distro)))


def _files(view: Captured, name: str, arch: str, status_path: str) -> tuple[list[str], str | None]:
    """The package's paths and the metadata file that listed them."""
    bases = [f"{name}:{arch}", name] if arch else [name]
    for base in bases:
        lst = f"{INFO}{base}.list"
        if lst in view:
            return _paths(decode(view[lst][1]).splitlines()), lst
    # no .list (distroless, or dpkg's info/ deleted): md5sums name the regular files
    candidates = [f"{INFO}{b}.md5sums" for b in bases]
    if status_path.startswith(STATUS_D):
        candidates.insert(0, status_path + ".md5sums")
        candidates.insert(1, f"{STATUS_D}{name}.md5sums")
    for md5 in candidates:
        if md5 in view:
            lines = [line.split(maxsplit=1)[1] for line in decode(view[md5][1]).splitlines() if len(line.split()) > 1]
            return _paths(lines), md5
    return [], None


def _paths(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        p = root_path(line) if line.strip() and line.strip() != "/." else None
        if p is not None:
            out.append(p)
    return out


def _divert(path: str, pkg: str, div: dict[str, tuple[str, str]]) -> str:
    d = div.get(path)
    return d[0] if d is not None and d[1] != pkg else path
