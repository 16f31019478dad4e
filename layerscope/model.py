"""Plain data: what an image is made of and what layerscope found in it. No I/O here."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from layerscope import renderhooks

if TYPE_CHECKING:
    import pandas as pd

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


# Not frozen, but read-only by convention and hashable like a frozen one: a frozen
# dataclass sets each field through object.__setattr__, 4x the cost of creating this one
# (1 µs against 0.25), and one is made per tar entry in the reader and again in the parent
# process that receives a worker's records.
@dataclass(slots=True, unsafe_hash=True)
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


# Linux's PATH_MAX: a longer name cannot be extracted by any engine. The bound matters to
# memory: every parent of a path becomes a directory with its own full path, so a path of n
# bytes costs up to n*n/2 (a 100 kB name of 50,000 components: gigabytes).
MAX_PATH = 4096


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
    # (path, detector) for each file a secret detector fired on (layers/secrets.py); None when
    # the contents were not scanned, which says nothing about secrets.
    secrets: tuple[tuple[str, str], ...] | None = None

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

    @property
    def kept_uncompressed(self) -> bool:
        """A plain-tar blob (a legacy `docker save`, an OCI `.tar` layer): its `compressed_size` is not compressed."""
        return plain_tar(self.media_type)


PLAIN_TAR_SUFFIXES = (".tar", "diff.tar")


def plain_tar(media_type: str) -> bool:
    """Whether a layer of this media type is a plain, uncompressed tar."""
    return media_type.endswith(PLAIN_TAR_SUFFIXES)


COMPRESSED = "compressed"
STORED_UNCOMPRESSED = "stored uncompressed"
STORED_MIXED = "stored, partly uncompressed"
STORED = "stored"


def stored_word(media_types: Iterable[str]) -> str:
    """The honest word for the summed blob bytes (`compressed_size`) of layers of these media types:
    "compressed" only when every blob is; "stored uncompressed" when every blob is a plain tar; "stored,
    partly uncompressed" when mixed; "stored" when there is no layer to tell."""
    plain = {plain_tar(m) for m in media_types}
    if plain == {False}:
        return COMPRESSED
    if plain == {True}:
        return STORED_UNCOMPRESSED
    return STORED_MIXED if plain else STORED


def layers_stored_word(layers: Iterable[Layer], indexes: Iterable[int] | None = None) -> str:
    """stored_word for `layers` (an image's), or for those of them at `indexes` (e.g. the layers a rebuild makes)."""
    chosen = list(layers)
    if indexes is not None:
        by_index = {x.index: x for x in chosen}
        chosen = [by_index[i] for i in indexes if i in by_index]
    return stored_word(x.media_type for x in chosen)


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
class Finding:
    """Something that should not ship: a forbidden path, a secret in a file, in ENV or in history.

    Never holds the secret itself: only where it is and which detector (or glob) found it.
    """

    kind: str  # "path" (a forbidden glob), "file" (a secret in a file), "env" (config Env), "history"
    detector: str  # the glob for "path"; a detector name (layers/secrets.py) or "secret-name"
    path: str | None = None  # the file or directory, relative to the root ("path", "file")
    layer: int | None = None  # the layer holding it ("path", "file"; "history": the entry's layer, if any)
    hidden: bool | None = None  # deleted or overwritten by a later layer: not in the final fs, still in the blob
    hidden_by: int | None = None  # the layer that hid it, when known
    name: str | None = None  # the variable ("env", "history": ENV/ARG/build-arg name), when there is one
    history_index: int | None = None  # the config history entry ("history")


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the analysis looked for and found (analysis/exposure.py)."""

    findings: tuple[Finding, ...]
    path_globs: tuple[str, ...]  # the globs matched against every path of every layer
    secrets_scanned: bool  # file contents were scanned (else "file" findings are unknown, not absent)


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


class _Notebook:
    """The notebook API of an Analysis: DataFrames and the summary Jupyter shows. They live in
    layerscope/output/ (frames.py, html.py), above the model; each method asks renderhooks for
    its renderer. pandas is imported when a frame is asked for, never by `import layerscope`."""

    __slots__ = ()

    def layers_df(self) -> pd.DataFrame:
        return renderhooks.frame("layers_df", self)

    def files_df(self) -> pd.DataFrame:
        return renderhooks.frame("files_df", self)

    def packages_df(self, by_layer: bool = False) -> pd.DataFrame:
        return renderhooks.frame("packages_df", self, by_layer)

    def categories_df(self, by_layer: bool = False) -> pd.DataFrame:
        return renderhooks.frame("categories_df", self, by_layer)

    def history_df(self) -> pd.DataFrame:
        return renderhooks.frame("history_df", self)

    def waste_df(self) -> pd.DataFrame:
        return renderhooks.frame("waste_df", self)

    def __repr__(self) -> str:  # the generated one would print every file record
        a = cast("Analysis", self)
        t = a.totals
        return (
            f"Analysis(reference={a.image.reference!r}, layers={len(a.image.layers)}, size={t.size}, "
            f"compressed_size={t.compressed_size}, final_size={t.final_size}, wasted_bytes={t.wasted_bytes})"
        )

    def _repr_html_(self) -> str:
        return renderhooks.html("analysis_html", self)


class Derived:
    """What is worked out from an Analysis's layer records once and then shared by every
    consumer: the stacked tree and the package attribution (analysis/state.py puts them
    in `state`). Not part of the data: never serialised, compared or pickled."""

    __slots__ = ("lock", "state")

    def __init__(self, state: object = None) -> None:
        self.lock = threading.Lock()
        self.state = state

    def __reduce__(self) -> tuple[type[Derived], tuple[()]]:
        return Derived, ()  # a copy works the state out again (a lock does not pickle)


@dataclass(frozen=True, slots=True, repr=False)
class Analysis(_Notebook):
    image: Image
    totals: Totals
    waste: tuple[WasteEntry, ...] = ()
    dive: DiveFigures | None = None
    notes: tuple[str, ...] = field(default=())
    packages: PackageReport | None = None  # None with --manifest-only
    exposure: Exposure | None = None  # None with --manifest-only and in older saved analyses
    # The stacked state (analysis/state.py): shared with `dataclasses.replace` copies, which
    # each check that it was worked out for their image.
    derived: Derived = field(default_factory=Derived, compare=False, repr=False)


# -- packages (analysis/packages/) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PackageRebuild:
    """What bumping a package's pin rebuilds: the step that installed the version now present and every step
    the change invalidates after it (buildcache/features/bump.py)."""

    step_line: int | None  # None when found through the image history alone
    step_text: str
    layers: tuple[int, ...]  # the image's layers made again
    bytes: int | None  # their `size`
    compressed_bytes: int | None  # pushed and pulled again
    seconds: float | None
    seconds_source: str | None  # "rawjson" | "history-estimate" | None
    shared_with: tuple[str, ...] = ()  # the other packages the same step installed (the first SHARED_SHOWN by name)
    change: str = ""  # what was simulated, in words
    shared_count: int | None = None  # how many other packages the same step installed (None: len(shared_with))

    @property
    def shared_total(self) -> int:
        return len(self.shared_with) if self.shared_count is None else self.shared_count


@dataclass(frozen=True, slots=True)
class SplitAdvice:
    """A heavy package sharing an expensive install step with cheap ones: install it in an earlier step."""

    step_line: int
    heavy: tuple[str, ...]  # the packages to install first
    heavy_bytes: int  # their bytes in the install step's layer
    others: int  # the other packages of the step
    before: PackageRebuild  # bumping one of the others now
    after: PackageRebuild  # ... with the split
    heavy_after: PackageRebuild  # bumping the heavy package with the split
    dockerfile: str  # the split Dockerfile
    files: tuple[tuple[str, str], ...]  # context files the split adds or rewrites: (path, text)
    why: str


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package and the bytes of the final filesystem it owns."""

    name: str
    version: str
    ecosystem: str  # python | conda | deb | apk | rpm | source
    size: int  # bytes of its visible files, hardlink groups and path aliases once
    files: int  # visible regular files (names) it owns
    layer: int | None  # the layer that installed the version now present
    layers: tuple[tuple[int, int], ...]  # (layer index, bytes that layer added for it)
    location: str  # site-packages dir, conda prefix, or the package database
    dead_bytes: int  # bytes of its files (any version) that earlier layers added and later ones hid
    category: str
    provided_by: str | None = None  # "deb:python3-yaml": its files are counted on that package
    inferred_bytes: int = 0  # part of `size` owned by inference, not by its file list (pyc, top-level name, ...)
    rebuild: PackageRebuild | None = None  # what bumping it costs, when worked out (buildcache/features/bump.py)
    notes: tuple[str, ...] = ()  # what its inferred_bytes were inferred from
    purl: str | None = None  # its package URL (analysis/packages/purl.py); None: none (or saved before purls)


@dataclass(frozen=True, slots=True)
class RemovedPackage:
    """A package version an earlier layer installed and a later one removed or upgraded."""

    name: str
    version: str
    ecosystem: str
    layer: int  # the layer that installed it
    location: str
    dead_bytes: int
    hidden_by: tuple[int, ...]  # the layers that hid its bytes
    replaced_by: str | None = None  # the version present now, for an upgrade


@dataclass(frozen=True, slots=True)
class CategoryBytes:
    name: str
    bytes: int
    paths: tuple[tuple[str, int], ...]  # the largest places counted: (path, bytes)


@dataclass(frozen=True, slots=True)
class BuildOnly:
    """A package only build toolchains need (their dependency closure): what purging them
    and autoremoving would also remove."""

    ecosystem: str
    name: str
    version: str
    bytes: int  # its size in the final filesystem
    needed_by: tuple[str, ...]  # the toolchain (or closure) packages that depend on it
    why: str


@dataclass(frozen=True, slots=True)
class Saving:
    what: str
    bytes: int
    how: str
    evidence: tuple[str, ...]
    reasoning: str = ""
    closure: tuple[BuildOnly, ...] = ()  # build-toolchains: the packages counted for the toolchain's sake


@dataclass(frozen=True, slots=True)
class PackageReport:
    packages: tuple[Package, ...]
    removed: tuple[RemovedPackage, ...]
    unattributed: tuple[tuple[str, int], ...]  # (top-level directory, bytes in no package)
    categories: tuple[CategoryBytes, ...]
    savings: tuple[Saving, ...]
    notes: tuple[str, ...] = ()
    rebuild_advice: tuple[SplitAdvice, ...] = ()  # with the rebuild costs: installs worth splitting
