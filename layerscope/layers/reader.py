"""One pass over one layer blob: decompress, hash, walk headers, capture metadata."""

from __future__ import annotations

import os
import posixpath
from dataclasses import replace

from layerscope.errors import DigestError, FormatError, UnsafeInputError, quote
from layerscope.layers import secrets as secret_scan
from layerscope.layers.capture import MAX_CAPTURE_LAYER, capture_limit
from layerscope.layers.fileblob import FileHasher, PositionalReader, file_extent
from layerscope.layers.streams import (
    GZIP_ERRORS,
    BombGuard,
    HashingReader,
    PrefixedReader,
    Readable,
    open_decompressed,
    sniff,
    usable_cores,
)
from layerscope.layers.tarwalk import TarWalker
from layerscope.model import (
    BLOCK,
    CHAR,
    DIR,
    FIFO,
    FILE,
    HARDLINK,
    MAX_PATH,
    OTHER,
    SYMLINK,
    FileRecord,
    LayerRecord,
)
from layerscope.units import MAX_SIZE

_TYPES = {
    "0": FILE,
    "7": FILE,
    "S": FILE,
    "1": HARDLINK,
    "2": SYMLINK,
    "3": CHAR,
    "4": BLOCK,
    "5": DIR,
    "6": FIFO,
}
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
# Names eStargz writers put into the tar next to the payload (docs/image-formats.md §4).
ESTARGZ_NAMES = frozenset({"stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"})
MAX_ENTRIES = 5_000_000
# With a second core, the blob is hashed and gzip decoded by threads of their own, while
# this thread walks the tar: the three overlap instead of taking turns.
OVERLAP = usable_cores() > 1


def normalize(name: str, what: str = "path") -> str:
    """A tar member name as a clean relative path; '' for the root. Rejects '..' escapes."""
    # Fast path, the usual name: no '//', no '.' or '..' component, no leading '/'; a
    # leading './' and one trailing '/' dropped. normpath would return it unchanged.
    path = name[2:] if name.startswith("./") else name
    if path.endswith("/"):
        path = path[:-1]
    if (
        path
        and path[0] != "/"
        and path[-1] != "/"
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and not path.startswith(("./", "../"))
        and not path.endswith(("/.", "/.."))
        and path not in (".", "..")
    ):
        return path
    path = name.lstrip("/")
    if not path:
        return ""
    clean = posixpath.normpath(path)  # relative: a ".." that climbs out stays in front
    if clean == ".":
        return ""
    if clean == ".." or clean.startswith("../"):
        raise UnsafeInputError(f"unsafe {what} in layer: {quote(name)} escapes the root")
    return clean


def _no_dot_parts(name: str) -> bool:
    """No "." or ".." component in a name with "/." in it: hidden files and directories."""
    return "/./" not in name and "/../" not in name and not name.endswith(("/.", "/.."))


def read_layer(
    blob: Readable,
    *,
    verify: bool = False,
    expected_digest: str | None = None,
    expected_diff_id: str | None = None,
    what: str = "layer",
    scan_secrets: bool = False,
) -> LayerRecord:
    """Walk one layer blob (uncompressed, gzip or zstd, sniffed) into a LayerRecord.

    A compressed blob's stored bytes are always hashed and checked against
    ``expected_digest`` (cheap next to decoding). The decompressed stream is hashed only
    with ``verify`` and then checked against ``expected_diff_id``; for an uncompressed
    blob that one hash serves both.
    """
    if not verify and _seekable(blob):
        head = blob.read(4)
        blob.seek(0)  # type: ignore[attr-defined]
        if sniff(head) == "none":
            # An uncompressed blob on disk (docker save): the walker seeks over file data,
            # reading only headers. Nothing to hash without --verify.
            walker_record, end = _walk_counted(blob, "none", scan_secrets)
            return replace(walker_record, uncompressed_bytes=end, stored_bytes=end)
    # A blob named by a sha512 digest is hashed with sha512; diff_ids are always sha256.
    algorithm = "sha512" if expected_digest and expected_digest.startswith("sha512:") else "sha256"
    extent = file_extent(blob) if OVERLAP else None
    if extent is not None:
        fd, start, length = extent
        try:
            compression = sniff(os.pread(fd, 4, start))
        except OSError as err:  # an I/O error of the disk: bad input, not a bug
            raise FormatError(f"cannot read {what}: {err.strerror or err}") from None
        if compression != "none":
            # A compressed blob on disk: hashed by a thread of its own that reads the file
            # itself, while the decoder reads it too (fileblob.py says why).
            return _read_file_blob(
                fd, start, length, compression, algorithm, verify, expected_digest, expected_diff_id, what, scan_secrets
            )
    stored = HashingReader(blob, True, algorithm, background=OVERLAP)
    try:
        return _read_stream(stored, verify, algorithm, expected_digest, expected_diff_id, what, scan_secrets)
    finally:
        stored.finish()  # the hashing thread ends on every path


def _read_stream(
    stored: HashingReader,
    verify: bool,
    algorithm: str,
    expected_digest: str | None,
    expected_diff_id: str | None,
    what: str,
    scan_secrets: bool,
) -> LayerRecord:
    head = stored.read(4)
    compression = sniff(head)
    if compression == "none" and not verify:
        stored.stop_hashing()
    one_hash = compression == "none" and algorithm == "sha256"
    hash_uncompressed = verify and not one_hash
    decoder = open_decompressed(PrefixedReader(head, stored), compression, threaded=OVERLAP)
    decoded = decoder if compression == "none" else BombGuard(decoder, stored)
    plain = HashingReader(decoded, hash_uncompressed)
    try:
        record = _walk_decoded(plain, compression, what, scan_secrets)
    finally:
        # A threaded decoder reads `stored` ahead: it is stopped before the drain reads on.
        if compression != "none":
            _close(decoder)
    stored.drain()  # the rest of the blob (gzip trailer, eStargz footer) is part of its digest
    stored_digest = stored.digest
    diff_id = stored_digest if one_hash else plain.digest
    return _checked(record, what, expected_digest, stored_digest, expected_diff_id, diff_id, plain.count, stored.count)


def _walk_decoded(plain: Readable, compression: str, what: str, scan_secrets: bool) -> LayerRecord:
    """The walk of a decoded stream, the decoder's errors said as bad input."""
    try:
        return _walk(plain, compression, scan_secrets)
    except EOFError as err:  # isal / gzip at a cut in the middle of a member
        raise FormatError(f"truncated {compression} stream in {what}: {err}") from None
    except GZIP_ERRORS as err:  # bad magic, bad deflate data, CRC or length check failures
        raise FormatError(f"corrupt {compression} stream in {what}: {err}") from None


def _checked(
    record: LayerRecord,
    what: str,
    expected_digest: str | None,
    stored_digest: str | None,
    expected_diff_id: str | None,
    diff_id: str | None,
    uncompressed_bytes: int,
    stored_bytes: int,
) -> LayerRecord:
    """The walked record with its byte counts and digests, once they match what was expected."""
    if expected_digest and stored_digest and expected_digest != stored_digest:
        raise DigestError(f"digest mismatch in {what}: expected {expected_digest}, blob hashes to {stored_digest}")
    if expected_diff_id and diff_id and expected_diff_id != diff_id:
        raise DigestError(f"diff_id mismatch in {what}: config says {expected_diff_id}, contents hash to {diff_id}")
    return replace(
        record,
        uncompressed_bytes=uncompressed_bytes,
        stored_bytes=stored_bytes,
        stored_digest=stored_digest,
        diff_id=diff_id,
    )


def _read_file_blob(
    fd: int,
    start: int,
    length: int,
    compression: str,
    algorithm: str,
    verify: bool,
    expected_digest: str | None,
    expected_diff_id: str | None,
    what: str,
    scan_secrets: bool,
) -> LayerRecord:
    source = PositionalReader(fd, start, length)
    hasher = FileHasher(fd, start, length, algorithm)
    try:
        decoder = open_decompressed(source, compression, threaded=True)
        plain = HashingReader(BombGuard(decoder, source), verify)
        try:
            record = _walk_decoded(plain, compression, what, scan_secrets)
        finally:
            _close(decoder)
        stored_digest = hasher.digest()  # every byte of the blob, a trailer after the stream too
    finally:
        hasher.stop()
    return _checked(record, what, expected_digest, stored_digest, expected_diff_id, plain.digest, plain.count, length)


def _close(decoder: Readable) -> None:
    close = getattr(decoder, "close", None)
    if close is not None:
        close()


def blob_matches(blob: Readable, digest: str, *, verify: bool = False, what: str = "layer") -> bool:
    """Hash a blob on disk against the digest that names it, without decoding or walking it:
    True when it matches (then the cache's entry for that digest describes these bytes),
    False when it was not hashed (the stream is not seekable, or an uncompressed blob
    without --verify: its walk costs about what its hash would). A mismatch is an error.
    The blob is left at its start."""
    if not _seekable(blob):
        return False
    head = blob.read(4)
    blob.seek(0)  # type: ignore[attr-defined]
    if sniff(head) == "none" and not verify:
        return False
    stored = HashingReader(blob, True, "sha512" if digest.startswith("sha512:") else "sha256")
    stored.drain()
    blob.seek(0)  # type: ignore[attr-defined]
    if stored.digest != digest:
        raise DigestError(f"digest mismatch in {what}: expected {digest}, blob hashes to {stored.digest}")
    return True


def _seekable(blob: Readable) -> bool:
    try:
        return bool(blob.seekable())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _walk_counted(stream: Readable, compression: str, scan: bool = False) -> tuple[LayerRecord, int]:
    walker = TarWalker(stream)
    record = _records(walker, compression, scan)
    return record, walker.offset


def _walk(stream: Readable, compression: str, scan: bool = False) -> LayerRecord:
    return _records(TarWalker(stream), compression, scan)


def _records(walker: TarWalker, compression: str, scan: bool = False) -> LayerRecord:
    files: list[FileRecord] = []
    whiteouts: list[str] = []
    opaque: list[str] = []
    captured: list[tuple[str, bytes]] = []
    kept = 0  # bytes in captured
    notes: list[str] = []
    found: list[tuple[str, str]] = []
    size = 0
    sparse = 0
    n = 0
    types = _TYPES
    add = files.append
    new = FileRecord
    for name, typeflag, hsize, mode, uid, gid, mtime, link, _offset, _data, is_sparse in walker.entries():
        n += 1
        if n > MAX_ENTRIES:
            raise UnsafeInputError(f"layer has more than {MAX_ENTRIES} entries; refusing to read further")
        # The usual name is clean already: no leading "./" or "/", no "//", no "." or ".."
        # component, maybe a trailing "/" (directories); anything else is normalised.
        if name[-1:] == "/":
            name = name[:-1]
        if (
            name
            and name[0] not in "./"
            and name[-1] != "/"
            and "//" not in name
            and ("/." not in name or _no_dot_parts(name))
        ):
            path = name
        else:
            path = normalize(name)
            if not path:
                continue  # the root directory entry "./"
        if len(path) > MAX_PATH or len(link) > MAX_PATH:  # a link target too: every record keeps its own
            what, long = ("path", path) if len(path) > MAX_PATH else ("link target", link)
            raise UnsafeInputError(f"layer has a {what} of {len(long)} characters (Linux allows {MAX_PATH} bytes)")
        size += hsize
        if ".wh." in path:
            parent, _, base = path.rpartition("/")
            if base.startswith(WHITEOUT_PREFIX):
                _whiteout(name, parent, base, whiteouts, opaque)
                continue
        kind = types.get(typeflag, OTHER)
        if is_sparse:
            sparse += 1
        if kind == HARDLINK:
            link = normalize(link, "hardlink target")
        add(new(path, kind, hsize, mode, uid, gid, mtime, link))
        if kind == FILE:
            limit = capture_limit(path)
            head = None
            if limit is not None and hsize <= limit:
                head = walker.read_data()
                captured.append((path, head))
                kept += len(head)
                if kept > MAX_CAPTURE_LAYER:
                    raise UnsafeInputError(
                        f"layer has more than {MAX_CAPTURE_LAYER >> 20} MiB of package metadata to keep; "
                        "refusing to read further"
                    )
            if scan and 0 < hsize <= secret_scan.MAX_FILE:
                if head is None:
                    # The sniff first: a binary's head is not read any further.
                    head = walker.read_data(secret_scan.SNIFF)
                    if b"\0" not in head:
                        head += walker.read_data(secret_scan.HEAD - len(head))
                for detector in secret_scan.scan(head[: secret_scan.HEAD]):
                    found.append((path, detector))
    if size > MAX_SIZE:  # header-only entries may claim any size: more than an int64 is corrupt input
        raise FormatError(f"corrupt layer: its entries claim more than {MAX_SIZE} bytes")
    if sparse:
        notes.append(f"{sparse} sparse file(s): sizes are apparent sizes")
    for t in walker.trailing:
        tname = normalize(t.name)
        if posixpath.basename(tname) in ESTARGZ_NAMES:
            notes.append(f"eStargz metadata after the tar end: {tname}")
    suffixes = tuple(ESTARGZ_NAMES)  # a cheap test first: this runs over every file
    if any(f.path.endswith(suffixes) and f.path.rpartition("/")[2] in ESTARGZ_NAMES for f in files):
        notes.append("eStargz metadata entries present in the layer")
    return LayerRecord(
        files=tuple(files),
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
        size=size,
        uncompressed_bytes=0,
        stored_bytes=0,
        compression=compression,
        captured=tuple(captured),
        notes=tuple(notes),
        secrets=tuple(found) if scan else None,
    )


def _whiteout(name: str, parent: str, base: str, whiteouts: list[str], opaque: list[str]) -> None:
    if base == OPAQUE:
        opaque.append(parent)
    elif base.startswith(".wh..wh."):
        pass  # AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not a whiteout
    elif base == WHITEOUT_PREFIX:
        raise FormatError(f"invalid whiteout entry {quote(name)} (nothing after '.wh.')")
    else:
        # ".wh.." and ".wh..." name the parent and its parent: refuse the escape.
        target = normalize(posixpath.join(parent, base[len(WHITEOUT_PREFIX) :]), "whiteout")
        if not target:
            raise FormatError(f"invalid whiteout entry {quote(name)} (it names the root)")
        whiteouts.append(target)
