"""apk: `lib/apk/db/installed`, blank-line separated records of `X:value` lines.

`P` name, `V` version, `A` arch, `F` a directory, `R` a file in the preceding `F`
(docs/image-formats.md §10). Lines that are not `X:value` are counted and skipped.
"""

from __future__ import annotations

from layerscope.analysis.packages.common import APK, Captured, Found, decode, join_rel

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
            name = fields["P"]
            found.append(
                Found(
                    ecosystem=APK,
                    name=name,
                    version=fields.get("V", ""),
                    location="/" + db,
                    key=f"{APK}:{name}",
                    files=tuple(files),
                    meta=(db,),
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
