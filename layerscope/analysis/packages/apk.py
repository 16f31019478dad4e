"""apk: `lib/apk/db/installed`, blank-line separated records of `X:value` lines.

`P` name, `V` version, `A` arch, `o` origin (source) package, `F` a directory, `R` a file
in the preceding `F` (docs/image-formats.md §10). Lines that are not `X:value` are counted and skipped.
"""

from __future__ import annotations

from layerscope.analysis.packages.common import APK, Captured, Found, decode, join_rel
from layerscope.analysis.packages.purl import encode
from layerscope.analysis.packages.release import Release

DBS = ("lib/apk/db/installed", "usr/lib/apk/db/installed")
WORLD = "etc/apk/world"  # what was installed on purpose, read for the toolchain's closure (closure.py)


def is_apk_meta(path: str) -> bool:
    return path in DBS or path == WORLD


def find(view: Captured) -> tuple[list[Found], list[str]]:
    found: list[Found] = []
    notes: list[str] = []
    for db in DBS:
        if db in view:
            pkgs, bad = parse(decode(view[db][1]), db)
            found += pkgs
            if bad:
                notes.append(f"/{db}: {bad} malformed line(s) skipped")
    return found, notes


def parse(text: str, db: str) -> tuple[list[Found], int]:
    found: list[Found] = []
    bad = 0
    fields: dict[str, str] = {}
    files: list[str] = []
    cwd = ""

    def flush() -> None:
        if fields.get("P"):
            name, origin = fields["P"], fields.get("o", "")
            found.append(
                Found(
                    ecosystem=APK,
                    name=name,
                    version=fields.get("V", ""),
                    location="/" + db,
                    key=f"{APK}:{name}",
                    files=tuple(files),
                    meta=(db,),
                    # syft's upstream: the origin (source) package when it is another one
                    qualifiers=(("arch", fields.get("A", "")), ("upstream", "" if origin == name else origin)),
                )
            )

    for line in text.splitlines():
        if not line.strip():
            flush()
            fields, files, cwd = {}, [], ""
            continue
        if len(line) < 2 or line[1] != ":":
            bad += 1
            continue
        tag, value = line[0], line[2:]
        if tag == "F":
            cwd = value
        elif tag == "R":
            p = join_rel(cwd, value)
            if p is not None:
                files.append(p)
        elif tag not in fields:
            fields[tag] = value
    flush()
    return found, bad


def purl(f: Found, release: Release | None) -> str | None:
    """`pkg:apk/<ID>/name@version?arch=..&distro=ID-VERSION_ID&upstream=..`; None without an
    os-release (syft gives none then either)."""
    if release is None:
        return None
    return encode("apk", release.id.lower(), f.name.lower(), f.version, (*f.qualifiers, ("distro", release.distro)))
