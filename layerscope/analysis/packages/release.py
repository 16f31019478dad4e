"""The image's Linux release, from the os-release file its layer walks captured
(layers/capture.py's RELEASE_FILES): what OS package URLs name as their distro.

As syft identifies it (syft/linux/identify_release.go): `/etc/os-release`, else
`/usr/lib/os-release`, the first that states anything; `distro` is `ID-VERSION_ID` (or
`ID-BUILD_ID` without a VERSION_ID). Unlike syft, `/etc/system-release-cpe`,
`/etc/redhat-release` and `/bin/busybox` are not read: an image with no os-release has no
release here (its deb and apk packages then get no purl, as syft gives them none).
A symlink `/etc/os-release` (Debian's points at `../usr/lib/os-release`) is not followed:
the second path covers the usual target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from layerscope.model import LayerRecord

PATHS = ("etc/os-release", "usr/lib/os-release")  # the order syft tries them in


@dataclass(frozen=True, slots=True)
class Release:
    """The os-release fields a purl uses, as the file states them (image text)."""

    id: str = ""
    id_like: tuple[str, ...] = ()
    version_id: str = ""
    build_id: str = ""

    @property
    def distro(self) -> str:
        """The purl `distro` qualifier: `ID-VERSION_ID` (syft's form), parts that are empty left out."""
        return "-".join(x for x in (self.id, self.version_id or self.build_id) if x)

    def like(self, family: str) -> bool:
        """Is it `family` or derived from it (ID_LIKE)?"""
        return self.id == family or family in self.id_like


def _value(raw: str) -> str:
    """An os-release value: quotes removed, backslash escapes resolved (os-release(5))."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]
    out: list[str] = []
    escaped = False
    for ch in raw:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def parse(data: bytes) -> Release | None:
    """The release an os-release file states; None when it states none of ID, ID_LIKE,
    VERSION_ID or BUILD_ID (syft then tries the next file)."""
    fields: dict[str, str] = {}
    # Only "\n" ends a line (os-release(5), syft's scanner): str.splitlines also cuts at U+0085,
    # U+2028 or a form feed inside a value. No line count bound: the capture keeps at most 64 KiB.
    for line in data.decode("utf-8", errors="replace").split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        if sep and key.strip() in ("ID", "ID_LIKE", "VERSION_ID", "BUILD_ID"):
            fields[key.strip()] = _value(raw)
    release = Release(
        id=fields.get("ID", "").strip(),
        id_like=tuple(fields.get("ID_LIKE", "").split()),
        version_id=fields.get("VERSION_ID", "").strip(),
        build_id=fields.get("BUILD_ID", "").strip(),
    )
    return None if release == Release() else release


def final_release(records: Sequence[LayerRecord], visible: Callable[[str, int], bool]) -> Release | None:
    """The release of the final filesystem: each path's version the stacked tree shows
    (`visible(path, layer)`), in syft's order."""
    for path in PATHS:
        for i in range(len(records) - 1, -1, -1):
            data = next((d for p, d in records[i].captured if p == path), None)
            if data is not None and visible(path, i):
                release = parse(data)
                if release is not None:
                    return release
                break  # this path's final version states nothing: try the next path
    return None
