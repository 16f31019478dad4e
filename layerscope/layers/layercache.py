"""The per-layer result cache: one zstd-compressed record per layer blob.

A record is trusted only as far as the bytes it was read from were checked when it was
written (docs/cache-keys.md): entries shared between images are keyed by a blob digest
the read hashed the bytes to; a layer read without hashing (an uncompressed docker save's
fast path) is keyed by the identity of the file it came from, and serves that file only.
Both live under a directory named by the schema version and a stamp of the capture rules
of layers/capture.py (what a record captured depends on them). Writes go to a temp file
and are renamed into place, so two processes can fill the cache at once; an unreadable
entry is a miss and is rewritten. `LAYERSCOPE_CACHE_DIR` or `$XDG_CACHE_HOME/layerscope`
(default ~/.cache).

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
import hashlib
import json
import marshal
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import zstandard

from layerscope.layers.capture import rules_stamp
from layerscope.layers.secrets import STAMP as SECRETS_STAMP
from layerscope.model import FileRecord, LayerRecord

SCHEMA = 6  # 2: marshal columns instead of JSON; 3: apt's extended_states and apt.conf(.d), apk's world captured;
# 4: secret findings (with their detectors' stamp); 5: keyed by blob digest or file identity;
# 6: only what the reader takes now (paths and link targets up to PATH_MAX, numbers within an int64)
# marshal's format is the interpreter's: entries of another Python version live apart.
_FLAVOUR = f"py{sys.version_info[0]}{sys.version_info[1]}"
# The directories under the cache root that hold entries (any schema): the layer records'
# and the image summaries' (analysis/summary_cache.py). Only their files are counted and
# pruned: the root may be a directory the user named that holds other things too.
LAYERS_PREFIX = "layers-v"
SUMMARIES_PREFIX = "images-v"
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


@dataclass(frozen=True, slots=True)
class CacheStats:
    root: str
    entries: int
    bytes: int


# (compression, stored bytes, stored digest): how the blob a record was read from was stored.
Variant = tuple[str, int, str | None]


class LayerCache:
    """Two kinds of layer entries (docs/cache-keys.md); reads are skipped with ``read=False``
    (--no-cache), writes always happen.

    * by blob digest (content-addressed, shared by every image and source): written only
      from a read that hashed the blob's stored bytes to that digest. The record's diff_id is
      set only when the uncompressed stream was hashed too (the digest -> diff_id alias).
    * by file identity (``local``): a layer read from a file we did not hash (the fast path
      of an uncompressed docker save), keyed by the file's path, device, inode, size, mtime,
      ctime and the member's offset and length, and the digests the image claimed for it.
      Another file, or this one changed, never finds it.
    """

    def __init__(self, root: str | None = None, read: bool = True) -> None:
        self.root = root or cache_root()
        # The capture rules' stamp: which files a record captured depends on them, not on the bytes.
        self.directory = os.path.join(self.root, f"{LAYERS_PREFIX}{SCHEMA}-{_FLAVOUR}-c{rules_stamp()}")
        self.read_enabled = read
        self.hits = 0
        self.misses = 0

    def _blob_path(self, digest: str) -> str:
        alg, _, hexpart = digest.partition(":")
        if alg not in ("sha256", "sha512") or not hexpart or hexpart.strip("0123456789abcdef"):
            alg, hexpart = "invalid", "-"  # a manifest's claim no read hashes to: no entry, not a path
        return os.path.join(self.directory, alg, hexpart[:2], hexpart + ".zst")

    def _local_path(self, identity: str) -> str:
        key = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
        return os.path.join(self.directory, "local", key[:2], key + ".zst")

    def has_blob(self, digest: str) -> bool:
        """Whether an entry for this blob digest exists (a stat; get_blob may still miss)."""
        return self.read_enabled and os.path.exists(self._blob_path(digest))

    def get_blob(self, digest: str, diff_id: str | None = None, need_secrets: bool = False) -> LayerRecord | None:
        """The record of the blob whose stored bytes hash to ``digest``; with ``diff_id``
        (--verify), only when its uncompressed stream was hashed to that diff_id as well;
        with ``need_secrets``, only when the read scanned it with the current detectors."""
        if not self.read_enabled:
            return None
        return self._wanted(self._get(self._blob_path(digest), digest), diff_id, need_secrets)

    def get_local(self, identity: str, diff_id: str | None = None, need_secrets: bool = False) -> LayerRecord | None:
        """The record last read from this very file (see the class docstring); ``diff_id``
        and ``need_secrets`` as for get_blob."""
        if not self.read_enabled:
            return None
        return self._wanted(self._get(self._local_path(identity), identity), diff_id, need_secrets)

    def _wanted(self, record: LayerRecord | None, diff_id: str | None, need_secrets: bool) -> LayerRecord | None:
        if record is not None and diff_id is not None and record.diff_id != diff_id:
            record = None
        if record is not None and need_secrets and record.secrets is None:
            record = None
        self._count(record)
        return record

    def put_blob(self, record: LayerRecord) -> None:
        """Cached under the digest its stored bytes were hashed to; nothing if they were not."""
        if record.stored_digest is None:
            return
        self._put(self._blob_path(record.stored_digest), record.stored_digest, record)

    def put_local(self, identity: str, record: LayerRecord) -> None:
        self._put(self._local_path(identity), identity, record)

    def _count(self, record: LayerRecord | None) -> None:
        if record is None:
            self.misses += 1
        else:
            self.hits += 1

    def _get(self, path: str, key: str) -> LayerRecord | None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return None
        try:
            head = marshal.loads(zstandard.ZstdDecompressor().decompress(raw))  # one per call: not thread-safe
            schema, stored_key, variant, body = head
            if schema != SCHEMA or stored_key != key or not isinstance(body, bytes):
                raise ValueError("not this entry")
            record = _record_from_columns(marshal.loads(body), variant)
        except (ValueError, TypeError, EOFError, IndexError, zstandard.ZstdError):
            with contextlib.suppress(OSError):
                os.unlink(path)  # unreadable: a miss, rewritten after the read
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # the LRU clock of prune()
        return record

    def _put(self, path: str, key: str, record: LayerRecord) -> None:
        variant: Variant = (record.compression, record.stored_bytes, record.stored_digest)
        body = _body(record)
        if record.secrets is None:
            # The same bytes (same key) read again without the secret scan: an entry that
            # has this detectors' findings is kept.
            old = self._get(path, key)
            if old is not None and old.secrets is not None and old.diff_id == record.diff_id:
                return
        doc = (SCHEMA, key, variant, body)
        # Level 1: half the time of 3 for a few per cent more bytes, on the reading path.
        _write_bytes(path, zstandard.ZstdCompressor(level=1, write_checksum=True).compress(marshal.dumps(doc)))

    def stats(self) -> CacheStats:
        entries = total = 0
        for _path, size, _mtime in self._entries():
            entries += 1
            total += size
        return CacheStats(self.root, entries, total)

    def _entries(self) -> list[tuple[str, int, float]]:
        """Entry files (and writers' leftover temp files) in the entry directories: never
        another file under the root, nor what a symlink there points at."""
        out: list[tuple[str, int, float]] = []
        try:
            tops = sorted(os.listdir(self.root))
        except OSError:
            return out
        for top in tops:
            if not top.startswith((LAYERS_PREFIX, SUMMARIES_PREFIX)):
                continue
            for dirpath, _dirs, files in os.walk(os.path.join(self.root, top)):  # does not follow links
                for name in files:
                    if not name.endswith(".zst") and not name.startswith(".tmp-"):
                        continue
                    p = os.path.join(dirpath, name)
                    try:
                        st = os.lstat(p)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
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
