"""Plain data of a fleet run: what is asked, what workers hand back. No I/O here.

Every object that crosses between the client and the workers is one of these (pickled by
Dask). A LayerResult carries a whole layer record and pickles it as the per-layer cache
encodes it (marshal columns): several times faster than pickling one object per file.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.layers.layercache import decode_record, encode_record
from layerscope.model import Analysis, LayerRecord
from layerscope.sources.handle import ResolvedManifest
from layerscope.sources.registry.options import RegistryOptions


@dataclass(frozen=True, slots=True)
class Target:
    """One image of the fleet: a reference as `inspect` takes it, with the names the tables use."""

    reference: str
    repository: str  # the registry repository, or the reference itself for other sources
    tag: str | None
    error: str | None = None  # known before any read: a catalog repository whose tags could not be listed


@dataclass(frozen=True, slots=True)
class Settings:
    """How every image of the run is read (the flags `inspect` has)."""

    platform: str | None = None
    verify: bool = False
    use_cache: bool = True
    registry: RegistryOptions | None = None


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """An image's manifest and config, resolved by a worker; `records` is set when its source
    cannot be read a layer at a time (the Docker engine exports whole images)."""

    target: Target
    transport: str  # the source that answered (docker, docker-archive, oci, ...)
    manifest: ResolvedManifest
    config: bytes
    diff_ids: tuple[str, ...]
    records: tuple[LayerResult, ...] | None = None


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """`analysis:FILE`: an analysis saved by `inspect --save`, summarised as it is."""

    target: Target
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class PlanError:
    target: Target
    error: str


@dataclass(frozen=True, slots=True)
class LayerSource:
    """Where one unique blob is read from: the first image of the fleet that lists it."""

    key: str  # the blob digest (the diff_id where a source has no blob digest)
    reference: str
    index: int
    descriptor_digest: str | None
    diff_id: str


class LayerResult:
    """A layer task's answer: the record, or the one-line reason it could not be read."""

    __slots__ = ("error", "key", "read", "record", "seconds")

    def __init__(self, key: str, record: LayerRecord | None, read: bool, seconds: float, error: str | None) -> None:
        self.key = key
        self.record = record
        self.read = read  # False: served from the per-layer cache
        self.seconds = seconds
        self.error = error

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        data = None if self.record is None else encode_record(self.record)
        return (_rebuild, (self.key, data, self.read, self.seconds, self.error))


def _rebuild(key: str, data: bytes | None, read: bool, seconds: float, error: str | None) -> LayerResult:
    return LayerResult(key, None if data is None else decode_record(data), read, seconds, error)


@dataclass(frozen=True, slots=True)
class LayerStats:
    """What the client keeps of a layer: a few numbers, never the file records."""

    key: str
    diff_id: str | None
    size: int | None  # dive's figure: bytes of file contents
    stored_bytes: int | None  # the blob as read
    files: int | None  # regular files
    read: bool  # the blob was read (not served from the cache)
    seconds: float  # wall time of the task on its worker
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ImageLayer:
    index: int
    key: str
    digest: str | None
    diff_id: str
    size: int | None
    compressed_size: int | None
    files: int | None
    media_type: str = ""  # says whether compressed_size is compressed (model.stored_word)


@dataclass(frozen=True, slots=True)
class PackageRow:
    ecosystem: str
    name: str
    version: str
    bytes: int
    files: int
    category: str


@dataclass(frozen=True, slots=True)
class SavingRow:
    what: str
    bytes: int
    how: str


@dataclass(frozen=True, slots=True)
class BudgetRow:
    rule: str
    status: str  # pass | fail | warn | skip
    message: str


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One image's figures, as `inspect` and `packages` report them for that reference alone."""

    target: Target
    digest: str | None = None
    platform: str | None = None
    size: int | None = None
    compressed_size: int | None = None
    final_size: int | None = None
    wasted_bytes: int | None = None
    layers: tuple[ImageLayer, ...] = ()
    error: str | None = None
    packages: tuple[PackageRow, ...] = ()
    categories: tuple[tuple[str, int], ...] = ()
    savings: tuple[SavingRow, ...] = ()
    budget: tuple[BudgetRow, ...] = ()

    @property
    def base_layer(self) -> str | None:
        """The bottom layer's blob digest: images built FROM the same base share it."""
        return self.layers[0].key if self.layers else None
