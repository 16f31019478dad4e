"""The two older rpmdb storage formats, read as bytes into the package header blobs they hold.

* BerkeleyDB `Packages` (RHEL/CentOS 5-8, Amazon Linux 2, openSUSE before NDB): a hash
  database whose values, the header blobs, live on chains of overflow pages. Layout from
  libdb's `db_page.h`: a 26-byte header on every page (page number at 8, next page at 16,
  entry count at 20, `hf_offset` at 22, page type at 25); the metadata page 0 has the
  magic at 12, the page size at 20, the encryption algorithm at 24 and the last page number
  at 32; hash pages (types 2 and 13) hold 2-byte offsets to key/value items, and a value
  item of type 3 (H_OFFPAGE) names its first overflow page (at 4) and total length (at 8);
  overflow pages (type 7) hold `hf_offset` bytes of it each. Either byte order.
* NDB `Packages.db` (SUSE, rpm-ndb): a 32-byte header (magic "RpmP", version 0, the number
  of 4 KiB slot pages at 12), 16-byte slots (magic "Slot", package index, block offset in
  16-byte blocks, block count) filling those pages after the header, and at each slot's
  block a 16-byte blob header (magic "BlbS", package index, checksum, length) and the blob.

Both are read from memory and bounds-checked: a damaged database is an RpmStoreError, never
a hang. Work and memory are bounded by the file's size: every overflow page is assembled at
most once per database (a real one never shares a page between two values, while a hostile
one can point every value at one long chain), and the blobs together never exceed the bytes
the file holds (NDB slots pointing at one large blob).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

Unpack = Callable[[bytes, int], tuple[Any, ...]]  # a Struct's unpack_from

_PAGE_SIZES = frozenset(1 << n for n in range(9, 17))  # 512 .. 65536
_HASH_MAGIC = 0x061561
_HASH_META, _HASH_UNSORTED, _HASH, _OVERFLOW, _OFFPAGE = 8, 2, 13, 7, 3
_HEADER = 26

_NDB_MAGIC = int.from_bytes(b"RpmP", "little")
_SLOT_MAGIC = int.from_bytes(b"Slot", "little")
_BLOB_MAGIC = int.from_bytes(b"BlbS", "little")
_NDB_PAGE = 4096
_NDB_MAX_PAGES = 2048  # as rpm's own reader (and go-rpmdb) bound it


class RpmStoreError(ValueError):
    """The bytes are not a readable database of this format."""


def read_bdb(db: bytes) -> list[bytes]:
    """Every header blob of a BerkeleyDB hash `Packages` file."""
    if len(db) < 512:
        raise RpmStoreError("too short for a BerkeleyDB database")
    order = next((o for o in "<>" if struct.unpack_from(o + "I", db, 12)[0] == _HASH_MAGIC), None)
    if order is None:
        raise RpmStoreError("not a BerkeleyDB hash database (bad magic)")
    u16, u32 = struct.Struct(order + "H").unpack_from, struct.Struct(order + "I").unpack_from
    page_size = u32(db, 20)[0]
    if page_size not in _PAGE_SIZES:
        raise RpmStoreError(f"BerkeleyDB page size {page_size} is not a valid one")
    if db[24]:
        raise RpmStoreError("the BerkeleyDB database is encrypted")
    if db[25] != _HASH_META:
        raise RpmStoreError("not a BerkeleyDB hash database (page 0 is no hash metadata page)")
    pages = min(u32(db, 32)[0] + 1, len(db) // page_size)
    blobs: list[bytes] = []
    seen: set[int] = set()  # overflow pages assembled so far, in any value
    for number in range(1, pages):
        base = number * page_size
        if db[base + 25] not in (_HASH, _HASH_UNSORTED):
            continue
        entries = u16(db, base + 20)[0]
        if _HEADER + 2 * entries > page_size:
            raise RpmStoreError(f"BerkeleyDB page {number} claims {entries} entries")
        for k in range(1, entries, 2):  # key, value, key, value: the values
            item = base + u16(db, base + _HEADER + 2 * k)[0]
            if item >= base + page_size:
                raise RpmStoreError(f"BerkeleyDB page {number}: an item outside the page")
            if db[item] == _OFFPAGE:  # other values (small H_KEYDATA) are not package headers
                if item + 12 > base + page_size:
                    raise RpmStoreError(f"BerkeleyDB page {number}: an item outside the page")
                blobs.append(_overflow(db, u32(db, item + 4)[0], u32(db, item + 8)[0], page_size, u16, u32, seen))
    return blobs


def _overflow(db: bytes, first: int, length: int, page_size: int, u16: Unpack, u32: Unpack, seen: set[int]) -> bytes:
    if length > len(db):
        raise RpmStoreError(f"BerkeleyDB value of {length} bytes in a file of {len(db)}")
    parts: list[bytes] = []
    got = 0
    number = first
    while number:
        base = number * page_size
        if number in seen:
            raise RpmStoreError(f"BerkeleyDB overflow page {number} is used twice (a loop or a shared chain)")
        if base + page_size > len(db):
            raise RpmStoreError(f"BerkeleyDB overflow chain broken at page {number}")
        seen.add(number)
        if db[base + 25] != _OVERFLOW:
            raise RpmStoreError(f"BerkeleyDB page {number} is not an overflow page")
        used = u16(db, base + 22)[0]
        parts.append(db[base + _HEADER : base + _HEADER + min(used, page_size - _HEADER)])
        got += len(parts[-1])
        if got >= length:
            break  # the value is complete: whatever follows is not its concern
        number = u32(db, base + 16)[0]
    data = b"".join(parts)
    if len(data) < length:
        raise RpmStoreError(f"BerkeleyDB value of {length} bytes holds only {len(data)}")
    return data[:length]


def read_ndb(db: bytes) -> list[bytes]:
    """Every header blob of an NDB `Packages.db` file."""
    if len(db) < 32:
        raise RpmStoreError("too short for an NDB database")
    magic, version, _generation, slot_pages = struct.unpack_from("<4I", db, 0)
    if magic != _NDB_MAGIC or version != 0 or not slot_pages:
        raise RpmStoreError("not an NDB rpm database (bad magic or version)")
    if slot_pages > _NDB_MAX_PAGES or slot_pages * _NDB_PAGE > len(db):
        raise RpmStoreError(f"NDB database claims {slot_pages} slot pages")
    blobs: list[bytes] = []
    total = 0
    for offset in range(32, slot_pages * _NDB_PAGE, 16):  # the first two slots are the header
        slot_magic, index, block, _count = struct.unpack_from("<4I", db, offset)
        if slot_magic != _SLOT_MAGIC:
            raise RpmStoreError(f"NDB slot at {offset} has a bad magic")
        if not index:
            continue  # a free slot
        start = block * 16
        if start + 16 > len(db):
            raise RpmStoreError(f"NDB package {index}: its blob lies past the end")
        blob_magic, blob_index, _checksum, length = struct.unpack_from("<4I", db, start)
        if blob_magic != _BLOB_MAGIC or blob_index != index:
            raise RpmStoreError(f"NDB package {index}: no blob where its slot points")
        blob = db[start + 16 : start + 16 + length]
        if len(blob) < length:
            raise RpmStoreError(f"NDB package {index}: the blob is cut off")
        total += length
        if total > len(db):  # slots sharing blobs: more bytes than the file holds
            raise RpmStoreError(f"NDB packages claim more bytes than the {len(db)}-byte file holds")
        blobs.append(blob)
    return blobs
