"""Image handles that let the single-image builder run on a fleet's parts.

`build_image` is the one place an Image is made (history alignment, diff_id checks,
notes); the fleet feeds it the manifest, config and layer records its tasks already hold,
so every figure is made by the same code as for `inspect REF`.
"""

from __future__ import annotations

from layerscope.fleet.records import ImagePlan
from layerscope.model import LayerRecord
from layerscope.sources.handle import Descriptor, ImageHandle, LayerReader, ResolvedManifest
from layerscope.sources.platforms import Platform
from layerscope.sources.references import PER_LAYER_TRANSPORTS, parse


def splittable(reference: str) -> bool:
    """Whether each layer of this reference can be read by its own task (the Docker engine,
    and bare names that may resolve to it, export whole images only)."""
    return parse(reference).transport in PER_LAYER_TRANSPORTS


def blob_key(digest: str | None, diff_id: str) -> str:
    """What makes a layer unique across the fleet: its blob digest (a legacy docker save
    names no blob digest: its uncompressed layer is then known by its diff_id)."""
    return digest or diff_id


class PrereadHandle:
    """An image whose manifest, config and layer records are already in hand."""

    parallel_safe = False

    def __init__(self, plan: ImagePlan, records: tuple[LayerRecord, ...]) -> None:
        self.plan = plan
        self.records = records
        self.reference = plan.target.reference
        self.transport = plan.transport

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        return self.plan.manifest

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        return self.plan.config

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        return self.records[index]

    def close(self) -> None:
        pass


class RecordingHandle:
    """A handle already resolved: the builder is given the manifest and config it read."""

    def __init__(self, inner: ImageHandle, manifest: ResolvedManifest, config: bytes) -> None:
        self.inner = inner
        self.manifest = manifest
        self.config = config
        self.reference = inner.reference
        self.transport = inner.transport
        self.parallel_safe = inner.parallel_safe

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        return self.manifest

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        return self.config

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        return self.inner.layer_record(descriptor, index, read)

    def close(self) -> None:
        pass
