"""An rpm header blob as the rpmdb stores it: big-endian `il`, `dl`, `il` index entries of
16 bytes `{tag, type, offset, count}`, then `dl` bytes of data (docs/image-formats.md §10)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
FILESIZES, FILESTATES, FILEFLAGS = 1028, 1029, 1037
DIRINDEXES, BASENAMES, DIRNAMES, OLDFILENAMES = 1116, 1117, 1118, 1027
_WANTED = frozenset(
    {
        NAME,
        VERSION,
        RELEASE,
        EPOCH,
        ARCH,
        SOURCERPM,
        FILESTATES,
        FILEFLAGS,
        DIRINDEXES,
        BASENAMES,
        DIRNAMES,
        OLDFILENAMES,
    }
)
_CHAR, _INT8, _INT16, _INT32, _INT64, _STRING, _BIN, _STRING_ARRAY, _I18N = 1, 2, 3, 4, 5, 6, 7, 8, 9
RPMFILE_GHOST = 1 << 6
STATE_NORMAL = 0
MAX_INDEX = 1 << 20


class HeaderError(ValueError):
    pass


Value = str | list[str] | list[int] | bytes


@dataclass(frozen=True, slots=True)
class RpmPackage:
    name: str
    version: str  # [epoch:]version-release, as rpm -q and syft print it
    arch: str
    files: tuple[str, ...]  # absolute paths of installed, non-%ghost files
    epoch: int | None = None  # its EPOCH tag, when it has one (the purl's `epoch` qualifier)
    source_rpm: str = ""  # the source package it was built from (syft's `upstream` qualifier)


def parse(blob: bytes) -> dict[int, Value]:
    if len(blob) < 8:
        raise HeaderError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * il
    if il > MAX_INDEX or start + dl > len(blob):
        raise HeaderError(f"header index ({il} entries, {dl} data bytes) overruns the blob")
    data = blob[start : start + dl]
    out: dict[int, Value] = {}
    for i in range(il):
        tag, typ, off, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in _WANTED:
            continue
        if off < 0 or off > dl:
            raise HeaderError(f"tag {tag}: offset {off} outside the data")
        out[tag] = _value(data, typ, off, count)
    return out


def _value(data: bytes, typ: int, off: int, count: int) -> Value:
    if typ in (_STRING, _I18N):
        end = data.find(b"\0", off)
        return data[off : end if end >= 0 else len(data)].decode("utf-8", "replace")
    if typ == _STRING_ARRAY:
        items: list[str] = []
        pos = off
        for _ in range(count):
            end = data.find(b"\0", pos)
            if end < 0:
                raise HeaderError("unterminated string array")
            items.append(data[pos:end].decode("utf-8", "replace"))
            pos = end + 1
        return items
    width = {_CHAR: 1, _INT8: 1, _INT16: 2, _INT32: 4, _INT64: 8}.get(typ)
    if width is None:
        return data[off : off + count]
    if off + width * count > len(data):
        raise HeaderError("integer array overruns the data")
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    return list(struct.unpack_from(f">{count}{fmt}", data, off))


def package(blob: bytes) -> RpmPackage:
    h = parse(blob)
    name = h.get(NAME)
    if not isinstance(name, str) or not name:
        raise HeaderError("no NAME tag")
    version, release, arch = _str(h.get(VERSION)), _str(h.get(RELEASE)), _str(h.get(ARCH))
    epoch = h.get(EPOCH)
    text = f"{version}-{release}" if release else version
    number = epoch[0] if isinstance(epoch, list) and epoch and isinstance(epoch[0], int) else None
    if number is not None:
        text = f"{number}:{text}"
    return RpmPackage(name, text, arch, tuple(_files(h)), number, _str(h.get(SOURCERPM)))


def _str(v: Value | None) -> str:
    return v if isinstance(v, str) else ""


def _ints(v: Value | None) -> list[int]:
    if isinstance(v, bytes):
        return list(v)
    return [x for x in v if isinstance(x, int)] if isinstance(v, list) else []


def _strs(v: Value | None) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _files(h: dict[int, Value]) -> list[str]:
    names = _strs(h.get(BASENAMES))
    if names:
        dirs, idx = _strs(h.get(DIRNAMES)), _ints(h.get(DIRINDEXES))
        if len(idx) != len(names) or any(i >= len(dirs) for i in idx):
            raise HeaderError("DIRINDEXES do not match BASENAMES/DIRNAMES")
        paths = [dirs[i] + b for i, b in zip(idx, names, strict=True)]
    else:
        paths = _strs(h.get(OLDFILENAMES))
    flags, states = _ints(h.get(FILEFLAGS)), _ints(h.get(FILESTATES))
    out = []
    for i, p in enumerate(paths):
        if i < len(flags) and flags[i] & RPMFILE_GHOST:
            continue  # %ghost: owned but never shipped
        if i < len(states) and states[i] != STATE_NORMAL:
            continue  # replaced / not installed / netshared / wrong colour
        out.append(p)
    return out
