"""The per-layer result cache: one zstd-compressed record per diff_id.

Layer records depend only on the layer's bytes, so they are keyed by diff_id (plus the
schema version of the record and a stamp of the capture rules of layers/capture.py: what
a record captured depends on them) and shared by every image with that layer. A record also
lists the blob digests it was read from: a registry or OCI blob is served from the cache
only under a digest we have read ourselves. Writes go to a temp file and are renamed into
place, so two processes can fill the cache at once; an unreadable entry is a miss and is
rewritten. `LAYERSCOPE_CACHE_DIR` or `$XDG_CACHE_HOME/layerscope` (default ~/.cache).

Layer entries are columns (paths, types, sizes, ...) in `marshal` format, zstd-framed with
a checksum: ~10x faster to write and read than JSON and a quarter of its size. marshal is
not for untrusted bytes; these are ours, and the zstd checksum turns a damaged file into a
miss. A Python whose marshal cannot read them sees a miss too (the key holds the version).

Secret findings (layers/secrets.py) are part of a record only when its walk scanned the
file contents, and they are stored with the detectors' STAMP: a record cached without a
scan, or scanned by other detectors, has ``secrets=None`` (unknown, never "none found"),
and a reader that needs them (``need_secrets``) takes it as a miss and reads the layer.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import zstandard

from layerscope.layers.capture import rules_stamp
from layerscope.layers.secrets import STAMP as SECRETS_STAMP
from layerscope.model import FileRecord, LayerRecord

SCHEMA = 4  # 2: marshal columns instead of JSON; 3: apt's extended_states and apt.conf(.d), apk's world captured;
# 4: secret findings (with their detectors' stamp)
# marshal's format is the interpreter's: entries of another Python version live apart.
_FLAVOUR = f"py{sys.version_info[0]}{sys.version_info[1]}"
DEFAULT_MAX_BYTES = 2 * 1000**3


def cache_root() -> str:
    explicit = os.environ.get("LAYERSCOPE_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "layerscope")


def record_to_json(r: LayerRecord) -> dict[str, Any]:
    return {
        "files": [[f.path, f.type, f.size, f.mode, f.uid, f.gid, f.mtime, f.linkname] for f in r.files],
        "whiteouts": list(r.whiteouts),
        "opaque_dirs": list(r.opaque_dirs),
        "size": r.size,
        "uncompressed_bytes": r.uncompressed_bytes,
        "stored_bytes": r.stored_bytes,
        "compression": r.compression,
        "stored_digest": r.stored_digest,
        "diff_id": r.diff_id,
        "captured": [[p, b.decode("latin-1")] for p, b in r.captured],
        "notes": list(r.notes),
        "secrets": None if r.secrets is None else {"stamp": SECRETS_STAMP, "found": [list(x) for x in r.secrets]},
    }


def record_from_json(d: dict[str, Any]) -> LayerRecord:
    return LayerRecord(
        files=tuple(FileRecord(*f) for f in d["files"]),
        whiteouts=tuple(d["whiteouts"]),
        opaque_dirs=tuple(d["opaque_dirs"]),
        size=d["size"],
        uncompressed_bytes=d["uncompressed_bytes"],
        stored_bytes=d["stored_bytes"],
        compression=d["compression"],
        stored_digest=d["stored_digest"],
        diff_id=d["diff_id"],
        captured=tuple((p, b.encode("latin-1")) for p, b in d["captured"]),
        notes=tuple(d["notes"]),
        secrets=_secrets_from(d.get("secrets")),
    )


def _secrets_from(doc: Any) -> tuple[tuple[str, str], ...] | None:
    """Saved findings, only if the current detectors made them."""
    if not isinstance(doc, dict) or doc.get("stamp") != SECRETS_STAMP:
        return None
    return tuple((str(p), str(d)) for p, d in doc["found"])


def _columns(r: LayerRecord) -> tuple[Any, ...]:
    f = r.files
    return (
        [x.path for x in f],
        [x.type for x in f],
        [x.size for x in f],
        [x.mode for x in f],
        [x.uid for x in f],
        [x.gid for x in f],
        [x.mtime for x in f],
        [x.linkname for x in f],
        list(r.whiteouts),
        list(r.opaque_dirs),
        r.size,
        r.uncompressed_bytes,
        r.diff_id,
        list(r.captured),
        list(r.notes),
        None if r.secrets is None else (SECRETS_STAMP, list(r.secrets)),
    )


# The last record's columns in marshal form: a forked worker writes a layer's cache entry
# and then sends the same columns to the parent, and need not encode them twice.
_last_body: tuple[LayerRecord, bytes] | None = None


def _body(r: LayerRecord) -> bytes:
    global _last_body
    last = _last_body
    if last is not None and last[0] is r:
        return last[1]
    body = marshal.dumps(_columns(r))
    _last_body = (r, body)
    return body


def encode_record(r: LayerRecord) -> bytes:
    """A whole record (blob facts included) as bytes: how worker processes hand records back."""
    return marshal.dumps((_body(r), (r.compression, r.stored_bytes, r.stored_digest)))


def decode_record(data: bytes) -> LayerRecord:
    body, variant = marshal.loads(data)
    return _record_from_columns(marshal.loads(body), variant)


def _record_from_columns(c: tuple[Any, ...], variant: tuple[str, int, str | None]) -> LayerRecord:
    (paths, types, sizes, modes, uids, gids, mtimes, links, whiteouts, opaque, size, unc, diff_id, captured, notes,
     scanned) = c  # fmt: skip
    compression, stored_bytes, stored_digest = variant
    secrets = None
    if scanned is not None and scanned[0] == SECRETS_STAMP:
        secrets = tuple(map(tuple, scanned[1]))
    return LayerRecord(
        files=tuple(map(FileRecord, paths, types, sizes, modes, uids, gids, mtimes, links)),
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
        size=size,
        uncompressed_bytes=unc,
        stored_bytes=stored_bytes,
        compression=compression,
        stored_digest=stored_digest,
        diff_id=diff_id,
        captured=tuple(captured),
        notes=tuple(notes),
        secrets=secrets,
    )


def _write_bytes(path: str, data: bytes) -> None:
    """Written to a temp file and renamed into place (safe with concurrent writers)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        return  # a cache that cannot be written is not an error for the analysis


def write_entry(path: str, doc: dict[str, Any]) -> None:
    """zstd JSON (the image summaries), written atomically."""
    _write_bytes(path, zstandard.ZstdCompressor(level=3).compress(json.dumps(doc, separators=(",", ":")).encode()))


def read_entry(path: str) -> dict[str, Any] | None:
    """An entry's document, or None when absent or unreadable (an unreadable one is removed)."""
    try:
        with open(path, "rb") as fh:
            doc = json.loads(zstandard.ZstdDecompressor().decompress(fh.read()))
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, zstandard.ZstdError):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)
    return doc


def _scanned(body: bytes) -> bool:
    """Whether a cached record body holds secret findings of the current detectors."""
    try:
        scanned = marshal.loads(body)[-1]
        return scanned is not None and scanned[0] == SECRETS_STAMP
    except (TypeError, ValueError, EOFError, IndexError):
        return False


@dataclass(frozen=True, slots=True)
class CacheStats:
    root: str
    entries: int
    bytes: int


class LayerCache:
    """Reads are skipped with ``read=False`` (--no-cache); writes always happen."""

    def __init__(self, root: str | None = None, read: bool = True) -> None:
        self.root = root or cache_root()
        # The capture rules' stamp: which files a record captured depends on them, not on the bytes.
        self.directory = os.path.join(self.root, f"layers-v{SCHEMA}-{_FLAVOUR}-c{rules_stamp()}")
        self.read_enabled = read
        self.hits = 0
        self.misses = 0

    def _path(self, diff_id: str) -> str:
        alg, _, hexpart = diff_id.partition(":")
        return os.path.join(self.directory, alg, hexpart[:2], hexpart + ".zst")

    def get(
        self, diff_id: str, blob_digest: str | None, need_verified: bool, need_secrets: bool = False
    ) -> LayerRecord | None:
        """The record for this diff_id as read from this blob.

        What the walk found depends only on the diff_id; how the blob was stored
        (compression, stored bytes and digest) is kept per blob ("variants"), so a layer
        read from a gzip blob is not reported as gzip when it comes from an uncompressed
        docker save. A blob never read before is a miss: we read it (and then know it).
        """
        if not self.read_enabled:
            return None
        entry = self._load(diff_id)
        variant = None if entry is None else entry[1].get(blob_digest or "")
        if entry is None or variant is None or (need_verified and not entry[0]):
            self.misses += 1
            return None
        try:
            record = _record_from_columns(marshal.loads(entry[2]), variant)
        except (TypeError, ValueError, EOFError, IndexError):
            self.misses += 1
            return None
        if need_secrets and record.secrets is None:
            self.misses += 1
            return None
        self.hits += 1
        return record

    def knows(self, diff_id: str, blob_digest: str | None, need_secrets: bool = False) -> bool:
        """Whether get() would hit, without building the record (a registry skips the download)."""
        if not self.read_enabled:
            return False
        entry = self._load(diff_id)
        if entry is None or (blob_digest or "") not in entry[1]:
            return False
        return not need_secrets or _scanned(entry[2])

    def _load(self, diff_id: str) -> tuple[bool, dict[str, tuple[str, int, str | None]], bytes] | None:
        """(verified, variants by blob digest, the record's marshal bytes), or None."""
        path = self._path(diff_id)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return None
        try:
            head = marshal.loads(zstandard.ZstdDecompressor().decompress(raw))  # one per call: not thread-safe
            schema, key, verified, variants, body = head
            if schema != SCHEMA or key != diff_id or not isinstance(variants, dict) or not isinstance(body, bytes):
                raise ValueError("not this entry")
        except (ValueError, TypeError, EOFError, zstandard.ZstdError):
            with contextlib.suppress(OSError):
                os.unlink(path)  # unreadable: a miss, rewritten after the read
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # the LRU clock of prune()
        return bool(verified), variants, body

    def put(self, diff_id: str, record: LayerRecord, blob_digest: str | None, verified: bool) -> None:
        old = self._load(diff_id)
        variants: dict[str, tuple[str, int, str | None]] = dict(old[1]) if old else {}
        variants[blob_digest or ""] = (record.compression, record.stored_bytes, record.stored_digest)
        # The entry's record is the same whichever blob it came from, except for the secret
        # findings: one with this detectors' findings wins over one without.
        body = old[2] if old and (record.secrets is None or _scanned(old[2])) else _body(record)
        doc = (SCHEMA, diff_id, verified or bool(old and old[0]), variants, body)
        # Level 1: half the time of 3 for a few per cent more bytes, on the reading path.
        _write_bytes(
            self._path(diff_id), zstandard.ZstdCompressor(level=1, write_checksum=True).compress(marshal.dumps(doc))
        )

    def stats(self) -> CacheStats:
        entries = total = 0
        for _path, size, _mtime in self._entries():
            entries += 1
            total += size
        return CacheStats(self.root, entries, total)

    def _entries(self) -> list[tuple[str, int, float]]:
        out = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                out.append((p, st.st_size, st.st_mtime))
        return out

    def prune(self, max_bytes: int, older_than: float | None = None) -> tuple[int, int]:
        """Evict least recently used entries until under max_bytes; returns (removed, freed)."""
        entries = sorted(self._entries(), key=lambda e: e[2])
        total = sum(e[1] for e in entries)
        removed = freed = 0
        now = time.time()
        for path, size, mtime in entries:
            stale = older_than is not None and now - mtime > older_than
            if total <= max_bytes and not stale and not os.path.basename(path).startswith(".tmp-"):
                continue
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
                freed += size
                total -= size
        return removed, freed
