"""Hand-made tar headers: the fields tarfile will not write for us (base-256 numbers,
header-only types with a size, the old NUL type, PAX records we choose), and the
streams built from them (gzip members, zstd frames, decompression bombs)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import zstandard

BLOCK = 512


def octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\0"


def base256(value: int, width: int) -> bytes:
    """GNU base-256: high bit of the first byte set, big-endian two's complement."""
    raw = (value % (1 << (8 * width))).to_bytes(width, "big")
    return bytes([raw[0] | 0x80]) + raw[1:] if value >= 0 else raw


def header(
    name: str | bytes,
    *,
    typeflag: bytes = b"0",
    size: int | bytes = 0,
    mode: int = 0o644,
    uid: int | bytes = 0,
    gid: int = 0,
    mtime: int = 1_600_000_000,
    linkname: str = "",
    prefix: str = "",
    magic: bytes = b"ustar\x0000",
    checksum: bool = True,
) -> bytes:
    """One 512-byte header block; numbers given as bytes are written as they are."""
    b = bytearray(BLOCK)
    raw_name = name.encode() if isinstance(name, str) else name
    b[0 : len(raw_name)] = raw_name
    b[100:108] = octal(mode, 8)
    b[108:116] = uid if isinstance(uid, bytes) else octal(uid, 8)
    b[116:124] = octal(gid, 8)
    b[124:136] = size if isinstance(size, bytes) else octal(size, 12)
    b[136:148] = octal(mtime, 12)
    b[156:157] = typeflag
    b[157 : 157 + len(linkname)] = linkname.encode()
    b[257:265] = magic
    b[345 : 345 + len(prefix)] = prefix.encode()
    if checksum:
        b[148:156] = b" " * 8
        b[148:156] = f"{sum(b):06o}".encode() + b"\0 "
    return bytes(b)


def with_fields(block: bytes, fields: dict[int, bytes], checksum: bytes | None = None) -> bytes:
    """A header with raw bytes written at the given offsets, checksum recomputed.

    ``checksum`` formats the sum (e.g. b"%07o"); the default is tarfile's "%06o\\0 ".
    """
    b = bytearray(block)
    for at, raw in fields.items():
        b[at : at + len(raw)] = raw
    b[148:156] = b" " * 8
    total = sum(b)
    b[148:156] = (checksum % total if checksum else b"%06o\0 " % total).ljust(8, b" ")
    return bytes(b)


def pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def entry(name: str, data: bytes = b"", **kw: object) -> bytes:
    """A header plus its padded data; size defaults to len(data)."""
    kw.setdefault("size", len(data))
    return header(name, **kw) + pad(data)  # type: ignore[arg-type]


def pax_records(records: dict[str, str]) -> bytes:
    out = []  # joined once: a header of 400,000 records is built in a second, not minutes
    for key, value in records.items():
        body = f" {key}={value}\n".encode()
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n = len(str(n)) + len(body)
        out.append(str(n).encode() + body)
    return b"".join(out)


def pax(records: dict[str, str], global_: bool = False) -> bytes:
    data = pax_records(records)
    return entry("PaxHeader", data, typeflag=b"g" if global_ else b"x")


def end() -> bytes:
    return bytes(2 * BLOCK)


def skippable_frame(payload: bytes, nibble: int = 0) -> bytes:
    return struct.pack("<II", 0x184D2A50 + nibble, len(payload)) + payload


def zstd_frames(*parts: bytes) -> bytes:
    c = zstandard.ZstdCompressor()
    return b"".join(c.compress(p) for p in parts)


def gzip_bomb(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """A gzip member: a tar header for a `total`-byte file of zeros, then the zeros.

    Built without compressing `total` bytes: after a full flush deflate's output for the
    same input repeats, so one compressed chunk is emitted `total // chunk` times.
    """
    assert total % chunk == 0
    head = header("zeros", size=total)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(chunk)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    tail = c.compress(end()) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(total // chunk):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(end(), crc)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first
    for _ in range(total // chunk - 1):
        yield block
    yield block + tail + struct.pack("<II", crc, (len(head) + total + 2 * BLOCK) & 0xFFFFFFFF)


def zstd_bomb(total: int, chunk: int = 1 << 20) -> bytes:
    c = zstandard.ZstdCompressor(level=3)
    obj = c.compressobj()
    parts = [obj.compress(header("zeros", size=total))]
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        parts.append(obj.compress(zeros))
    parts.append(obj.compress(end()))
    parts.append(obj.flush())
    return b"".join(parts)


def zstd_rle_bomb(blocks: int, window_log: int = 17) -> bytes:
    """A zstd frame written by hand: a tar header (a raw block) for a file of zeros, then
    `blocks` RLE blocks of 128 KiB each (4 bytes apiece: 32768x), then the tar's end.
    No content size in the header, so a decoder learns the size only by decoding."""
    rle = 128 << 10
    head = header("zeros", size=blocks * rle)

    def block(kind: int, size: int, last: bool = False) -> bytes:
        return ((size << 3) | (kind << 1) | int(last)).to_bytes(3, "little")

    frame = struct.pack("<I", 0xFD2FB528) + bytes([0, (window_log - 10) << 3])  # FHD 0, window descriptor
    frame += block(0, len(head)) + head
    frame += (block(1, rle) + b"\0") * blocks
    return frame + block(0, 2 * BLOCK, last=True) + end()
