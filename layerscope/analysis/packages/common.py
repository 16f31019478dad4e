"""What every package-database parser returns, and the small text helpers they share."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

PYTHON, CONDA, DEB, APK, RPM, SOURCE = "python", "conda", "deb", "apk", "rpm", "source"
# Each ecosystem's rank (which owner wins a file) is in ecosystems.py's table.

Captured = dict[str, tuple[int, bytes]]  # root-relative path -> (layer, contents)


@dataclass(frozen=True, slots=True)
class Found:
    """One package as a database states it at some point of the layer stack."""

    ecosystem: str
    name: str
    version: str
    location: str  # shown to users: site dir, conda prefix, database path
    key: str  # identity of this install across layers (same key + other version = upgrade)
    files: tuple[str, ...]  # root-relative paths as listed, before symlink resolution
    meta: tuple[str, ...] = ()  # the metadata files that declare it (first one names it)
    stamp: int | None = None  # layer of a metadata file rewritten on every (re)install, if any
    claim_dirs: tuple[str, ...] = ()  # directories every file of which it owns (a dist-info dir)
    site: str = ""  # python: the site directory its RECORD is relative to
    tops: tuple[str, ...] = ()  # python: top_level.txt names, used only without a file list
    project: str = ""  # python: an editable install's project directory (its files are taken as the dist's)
    # what its database states that its package URL carries besides name and version (arch,
    # upstream, epoch, build...): purl qualifiers; the image's distro is added by ecosystems.py
    qualifiers: tuple[tuple[str, str], ...] = ()

    @property
    def group(self) -> tuple[str, str, str]:
        """Versions of one package at one place: what an upgrade replaces."""
        return (self.ecosystem, canonical(self.name), self.location)


def canonical(name: str) -> str:
    """PEP 503 normalisation (what packaging.utils.canonicalize_name does)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def root_path(path: str) -> str | None:
    """An absolute path from a package database as a root-relative one; None for '/'."""
    clean = posixpath.normpath("/" + path.strip()).lstrip("/")
    return clean or None


def join_rel(base: str, path: str) -> str | None:
    """`path` relative to root-relative `base`; None when it climbs out of the root."""
    if path.startswith("/"):
        return root_path(path)
    joined = f"{base}/{path}" if base else path
    if (
        joined
        and joined[0] != "/"
        and joined[-1] != "/"
        and "//" not in joined
        and "/./" not in joined
        and "/../" not in joined
        and not joined.startswith(("./", "../"))
        and not joined.endswith(("/.", "/.."))
        and joined not in (".", "..")
    ):
        return joined  # already normal (no '.', '..' or empty component): what normpath returns
    clean = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
    if clean in (".", "") or clean == ".." or clean.startswith("../"):
        return None
    return clean


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def stanzas(text: str) -> Iterator[tuple[dict[str, str], int]]:
    """RFC 822-style paragraphs (dpkg status, METADATA headers): fields and bad-line count.

    Continuation lines (leading space or tab) extend the previous field; a line that is
    neither is counted as bad and skipped, so garbage never stops the parse.
    """
    fields: dict[str, str] = {}
    last: str | None = None
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            if fields or bad:
                yield fields, bad
            fields, last, bad = {}, None, 0
            continue
        if line[0] in " \t":
            if last is not None:
                fields[last] += "\n" + line.strip()
            else:
                bad += 1
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            bad += 1
            last = None
            continue
        last = name.strip()
        fields[last] = value.strip()
    if fields or bad:
        yield fields, bad


def headers(text: str) -> dict[str, str]:
    """The header block of a METADATA / PKG-INFO file (everything before the body)."""
    for fields, _bad in stanzas(text):
        return fields
    return {}
