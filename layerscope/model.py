"""Plain data: what an image is made of and what layerscope found in it. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Entry types of a layer tar, by name. Whiteout markers are not entries: they are kept
# apart in LayerRecord.whiteouts / opaque_dirs because they never become files.
FILE = "file"
DIR = "dir"
SYMLINK = "symlink"
HARDLINK = "hardlink"
CHAR = "char"
BLOCK = "block"
FIFO = "fifo"
OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One tar entry of a layer, path normalised (no leading '/', no trailing '/')."""

    path: str
    type: str
    size: int  # the tar header's size as written (after PAX overrides): dive's figure
    mode: int  # permission bits (0o7777)
    uid: int
    gid: int
    mtime: int
    linkname: str = ""  # symlink target, or the path a hardlink points at (normalised)


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """Everything one pass over one layer's tar stream yields; depends only on the bytes.

    This is what the per-layer cache stores, keyed by diff_id.
    """

    files: tuple[FileRecord, ...]
    whiteouts: tuple[str, ...]  # paths deleted from lower layers (dir/.wh.NAME -> dir/NAME)
    opaque_dirs: tuple[str, ...]  # directories whose lower children are hidden
    size: int  # sum of header sizes of every entry as written (dive's sizeBytes)
    uncompressed_bytes: int  # length of the whole decompressed stream, EOF padding included
    stored_bytes: int  # length of the blob as read
    compression: str  # "none" | "gzip" | "zstd"
    stored_digest: str | None = None  # sha256 of the stored bytes, when hashed
    diff_id: str | None = None  # sha256 of the decompressed stream, when hashed
    captured: tuple[tuple[str, bytes], ...] = ()  # small metadata files (package databases)
    notes: tuple[str, ...] = ()

    @property
    def regular_files(self) -> int:
        return sum(1 for f in self.files if f.type == FILE)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    index: int
    created: str | None
    created_by: str | None
    author: str | None
    comment: str | None
    empty_layer: bool
    layer_index: int | None  # None for empty_layer entries and where alignment failed


@dataclass(frozen=True, slots=True)
class Layer:
    index: int
    digest: str | None  # blob digest as stored; None where the source has none
    diff_id: str
    media_type: str
    compressed_size: int | None  # blob bytes as stored / transferred
    created_by: str | None
    created: str | None
    history_index: int | None
    record: LayerRecord | None  # None with --manifest-only, and in summaries without file records
    size: int | None = None  # record.size: bytes of file contents as the tar headers say (dive's)
    files: int | None = None  # regular files in the layer


@dataclass(frozen=True, slots=True)
class Image:
    reference: str
    source: str  # transport name: docker-archive, oci, oci-archive, docker-daemon, docker
    digest: str | None  # manifest digest, when the source has a manifest
    config_digest: str  # the image ID
    platform: str
    config: dict[str, Any]
    layers: tuple[Layer, ...]
    history: tuple[HistoryEntry, ...]
    history_aligned: bool = True  # False when history and layers could not be matched 1:1
    notes: tuple[str, ...] = ()
    manifest_only: bool = False


@dataclass(frozen=True, slots=True)
class WasteEntry:
    path: str
    bytes: int
    layer: int  # layer that added the hidden bytes
    hidden_by: int  # layer that overwrote or deleted them
    reason: str  # "overwritten" | "deleted"


@dataclass(frozen=True, slots=True)
class Totals:
    size: int | None
    compressed_size: int | None
    final_size: int | None
    wasted_bytes: int | None
    efficiency: float | None
    files: int | None  # regular files visible in the final filesystem


@dataclass(frozen=True, slots=True)
class DiveInefficiency:
    path: str
    count: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DiveFigures:
    """dive 0.13.1's own numbers, computed its way (see analysis/dive.py)."""

    efficiency: float
    wasted_bytes: int
    user_size: int
    user_wasted_percent: float | None  # None where dive's figure is NaN or infinite
    inefficient: tuple[DiveInefficiency, ...] = ()


@dataclass(frozen=True, slots=True)
class Analysis:
    image: Image
    totals: Totals
    waste: tuple[WasteEntry, ...] = ()
    dive: DiveFigures | None = None
    notes: tuple[str, ...] = field(default=())
