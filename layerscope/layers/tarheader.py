"""Tar header fields: numbers (octal and base-256), checksums, names, PAX records.

The pieces the walker (tarwalk.py) applies to every 512-byte header block.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from layerscope.errors import FormatError, quote
from layerscope.units import MAX_SIZE

BLOCK = 512
_adler = zlib.adler32
_TERM = (0, 0x20)  # what ends a numeric field
_PAX_TIME = re.compile(r"-?[0-9]+(\.[0-9]*)?")


# name, typeflag, size, mode, uid, gid, mtime, linkname, offset, data_size, sparse
Entry = tuple[str, str, int, int, int, int, int, str, int, int, bool]


@dataclass(slots=True)
class TarHeader:
    name: str
    typeflag: str  # one character: "0" regular, "1" hardlink, "2" symlink, "5" dir, ...
    size: int  # size as written (PAX override applied)
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: str
    offset: int  # offset of the header block in the uncompressed stream
    data_size: int  # bytes of data that follow in the archive (0 for header-only types)
    sparse: bool = False


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _cstr(block: bytes, start: int, end: int) -> bytes:
    field = block[start:end]
    nul = field.find(0)
    return field if nul < 0 else field[:nul]


def parse_number(field: bytes) -> int:
    """An octal field, or base-256 (GNU) when the high bit of the first byte is set."""
    if field and field[0] & 0x80:
        value = int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
        if field[0] & 0x40:  # negative base-256 (0xff prefix)
            value -= 1 << (8 * len(field) - 1)
        if not -MAX_SIZE <= value <= MAX_SIZE:  # Go's reader refuses what overflows an int64 too
            raise FormatError(f"corrupt tar header: number {value} out of range")
        return value
    nul = field.find(0)
    text = (field if nul < 0 else field[:nul]).strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise FormatError(f"corrupt tar header: bad number field {quote(field)}") from None


def _num(block: bytes, start: int, end: int) -> int:
    """A numeric field; the fast path is the usual zero-padded octal plus one terminator.

    A field may use every byte for digits (no terminator): then all of it is the number.
    """
    if block[end - 1] in (0, 0x20):
        try:
            return int(block[start : end - 1], 8)
        except ValueError:
            pass
    return parse_number(block[start:end])


def byte_sum(block: bytes) -> int:
    """Sum of a header block's bytes, in C: adler32's low half is 1 + the byte sum mod 65521,
    exact for 256 bytes (at most 65280), so two halves give the sum of 512 (sum() is ~6x slower)."""
    return (_adler(block[:256]) & 0xFFFF) + (_adler(block[256:]) & 0xFFFF) - 2


def checksum_ok(block: bytes, total: int | None = None) -> bool:
    stored = block[148:156]
    unsigned = (byte_sum(block) if total is None else total) - sum(stored) + 256  # the field counts as spaces
    try:
        expected = _num(block, 148, 155)
    except FormatError:
        return False
    if unsigned == expected:
        return True
    # Some old writers summed signed chars.
    signed = unsigned - 256 * sum(1 for b in block if b > 127) + 256 * sum(1 for b in stored if b > 127)
    return signed == expected


# The records _apply_pax reads. Only these are kept: a 16 MiB header may hold a million
# others, and a global header's records were merged into every entry after it (400,000 keys
# and 20,000 entries: minutes).
PAX_KEYS = frozenset({"path", "linkpath", "size", "uid", "gid", "mtime", "GNU.sparse.realsize", "GNU.sparse.size"})


def parse_pax(data: bytes) -> dict[str, str]:
    """PAX extended header records: "<len> <key>=<value>\\n"; every record's form is checked,
    only those in PAX_KEYS are returned."""
    out: dict[str, str] = {}
    pos = 0
    n = len(data)
    while pos < n:
        if data[pos] == 0:  # NUL padding at the end of some writers' records
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise FormatError("corrupt PAX header: record without length")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise FormatError("corrupt PAX header: bad record length") from None
        end = pos + length
        if length <= space - pos + 1 or end > n:
            raise FormatError("corrupt PAX header: record length out of range")
        eq = data.find(b"=", space + 1, end - 1)
        if data[end - 1] != 0x0A or eq < 0:
            raise FormatError("corrupt PAX header: malformed record")
        key = data[space + 1 : eq].decode("utf-8", "surrogateescape")
        if key in PAX_KEYS:
            out[key] = data[eq + 1 : end - 1].decode("utf-8", "surrogateescape")
        pos = end
    return out


def _apply_pax(
    merged: dict[str, str],
    start: int,
    name: str,
    linkname: str,
    size: int,
    uid: int,
    gid: int,
    mtime: int,
    sparse: bool,
) -> tuple[str, str, int, int, int, int, int, bool]:
    """PAX records over the header's fields; returns name, linkname, size, stored size, uid, gid, mtime, sparse."""
    stored = size
    # An empty value removes the keyword: the header's own field stands (POSIX, Go).
    if "" in merged.values():
        merged = {k: v for k, v in merged.items() if v}
    name = merged.get("path", name)
    linkname = merged.get("linkpath", linkname)
    if "size" in merged:
        size = stored = _pax_int(merged["size"], "size")
        if size < 0:
            raise FormatError(f"corrupt PAX header: negative size at offset {start}")
    if "uid" in merged:
        uid = _pax_int(merged["uid"], "uid")
    if "gid" in merged:
        gid = _pax_int(merged["gid"], "gid")
    if "mtime" in merged:
        mtime = _pax_time(merged["mtime"])
    if "GNU.sparse.realsize" in merged or "GNU.sparse.size" in merged:
        sparse = True
    return name, linkname, size, stored, uid, gid, mtime, sparse


def _pax_int(value: str, key: str) -> int:
    """A PAX number within an int64, as Go's reader takes them: a saved analysis holds only
    such numbers, so whatever is read must fit in one."""
    try:
        number = int(value)
    except ValueError:
        raise FormatError(f"corrupt PAX header: {key}={quote(value)} is not a number") from None
    if not -MAX_SIZE <= number <= MAX_SIZE:
        raise FormatError(f"corrupt PAX header: {key}={quote(value)} is out of range")
    return number


def _pax_time(value: str) -> int:
    """Seconds, maybe with a fraction ("1700000000.123456789"); whole seconds kept."""
    secs, _, frac = value.partition(".")
    if len(secs) > 20:  # past any int64 (and past what int() converts, at 4300 digits)
        seconds = MAX_SIZE + 1
    elif secs.isascii() and secs.isdigit() and (not frac or (frac.isascii() and frac.isdigit())):
        seconds = int(secs)  # the usual form, without the regular expression
    elif not _PAX_TIME.fullmatch(value):
        raise FormatError(f"corrupt PAX header: mtime={quote(value)} is not a time")
    else:
        seconds = int(value.partition(".")[0])
    if not -MAX_SIZE <= seconds <= MAX_SIZE:
        raise FormatError(f"corrupt PAX header: mtime={quote(value)} is out of range")
    return seconds


# -- the walker's fast path: the usual header's fields, each parse in one step ---------------
ZERO_FIELD = bytes(8)  # a checksum field of zeros: the end-of-archive blocks
# name, mode+uid+gid, size, mtime, checksum, typeflag: what every header needs.
FIELDS = struct.Struct("100s24s12s12s8sB")


def octal(field: bytes) -> int:
    """A zero-padded octal number field with its terminator; -1 when it is not one."""
    if field[-1] in _TERM:
        try:
            return int(field[:-1], 8)
        except ValueError:
            pass
    return -1


def parse_ids(field: bytes) -> tuple[int, int, int] | None:
    """Mode, uid and gid from their three 8-byte fields; None: not plain octal."""
    mode, uid, gid = octal(field[:8]), octal(field[8:16]), octal(field[16:])
    return None if mode < 0 or uid < 0 or gid < 0 else (mode, uid, gid)


def expected_sum(field: bytes) -> int:
    """The byte sum of a header whose checksum field is `field`, counted as stored (-1: no number)."""
    value = octal(field[:7])
    return -1 if value < 0 else value + sum(field) - 256
