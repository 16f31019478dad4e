"""The small protocol every source implements, and the data it hands to the builder.

A source only has to say: which manifest (after platform selection), the raw config
bytes, and how to get each layer blob's LayerRecord (usually: open the blob as a stream
and pass it to the reader). Everything else is done once, in builder.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from layerscope.errors import FormatError, quote
from layerscope.layers.streams import Readable
from layerscope.model import LayerRecord
from layerscope.sources.platforms import Platform
from layerscope.units import MAX_SIZE


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str | None
    size: int | None
    annotations: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()
    location: str | None = None  # where the source finds the blob (archive member, file)

    @classmethod
    def from_json(cls, d: dict[str, Any], location: str | None = None) -> Descriptor:
        digest, size = d.get("digest"), d.get("size")
        annotations, urls = d.get("annotations") or {}, d.get("urls") or []
        if digest is not None and not isinstance(digest, str):
            raise FormatError(f"malformed descriptor: digest {quote(digest)} is not a string")
        if size is not None and (type(size) is not int or not 0 <= size <= MAX_SIZE):  # int64, as the spec says
            raise FormatError(f"malformed descriptor {digest}: size {quote(size)} is not a byte count")
        if not isinstance(annotations, dict) or not isinstance(urls, list):
            raise FormatError(f"malformed descriptor {digest}: annotations or urls of the wrong type")
        return cls(
            media_type=str(d.get("mediaType", "")),
            digest=digest,
            size=size,
            annotations={str(k): str(v) for k, v in annotations.items()},
            urls=tuple(str(u) for u in urls),
            location=location,
        )


@dataclass(frozen=True, slots=True)
class ResolvedManifest:
    """An image manifest chosen for one platform (or synthesised from a docker save)."""

    digest: str | None  # None when the source has no manifest document (legacy docker save)
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    platform: Platform | None  # from the index entry, when chosen from an index
    notes: tuple[str, ...] = ()


# What the builder passes to a source to turn one blob into a LayerRecord.
LayerReader = Callable[[Readable, Descriptor, int], LayerRecord]


class ImageHandle(Protocol):
    transport: str
    reference: str

    def resolve(self, platform: Platform | None) -> ResolvedManifest: ...

    def config_bytes(self, manifest: ResolvedManifest) -> bytes: ...

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord: ...

    @property
    def parallel_safe(self) -> bool:
        """True when layer_record may be called from several threads at once."""
        ...

    def close(self) -> None: ...
