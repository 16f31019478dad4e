"""OCI image layouts (a directory, or an oci-archive tar read in place)."""

from __future__ import annotations

from typing import Any

from layerscope.errors import DigestError, FormatError
from layerscope.model import LayerRecord
from layerscope.sources import manifests
from layerscope.sources.handle import Descriptor, LayerReader, ResolvedManifest
from layerscope.sources.platforms import Platform
from layerscope.sources.stores import Store

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


def blob_path(digest: str, what: str) -> str:
    alg, hexpart = manifests.check_digest(digest, what)
    return f"blobs/{alg}/{hexpart}"


def fetch_blob(store: Store, desc: Descriptor, what: str) -> bytes:
    if desc.digest is None:
        raise FormatError(f"{what} has no digest")
    path = blob_path(desc.digest, what)
    if not store.exists(path):
        raise FormatError(f"{what} names blob {desc.digest}, which is missing from {store.label}")
    raw = store.read(path, what)
    manifests.verify_bytes(raw, desc.digest, what)
    if desc.size is not None and len(raw) != desc.size:
        raise DigestError(f"{what} is {len(raw)} bytes, its descriptor says {desc.size}")
    return raw


def check_size(store: Store, path: str, desc: Descriptor, what: str) -> None:
    """A blob must be as long as its descriptor says (image-spec descriptor.md): the declared
    size is what the figures report as the layer's stored size, so a wrong one is refused."""
    if desc.size is not None and (actual := store.size(path)) != desc.size:
        raise DigestError(f"{what} ({desc.digest}) is {actual} bytes, its descriptor says {desc.size}")


def select_by_tag(index: dict[str, Any], tag: str, label: str) -> dict[str, Any]:
    """Keep the index entries named ``tag`` (OCI ref.name, or containerd's image name)."""
    listed = index.get("manifests")
    entries = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []

    def names(e: dict[str, Any]) -> tuple[str, str]:
        ann = e.get("annotations")
        ann = ann if isinstance(ann, dict) else {}
        return str(ann.get(REF_NAME)), str(ann.get(CONTAINERD_NAME, ""))

    chosen = [e for e in entries if names(e)[0] == tag or names(e)[1].endswith(":" + tag)]
    if not chosen:
        tags = sorted({names(e)[0] for e in entries})
        raise FormatError(f"no image tagged {tag!r} in {label} (tags: {', '.join(tags) or 'none'})")
    return {**index, "manifests": chosen}


class LayoutHandle:
    """An OCI image layout: index.json -> (nested) index -> manifest -> config + layers."""

    parallel_safe = True

    def __init__(self, store: Store, transport: str, reference: str, tag: str | None = None) -> None:
        self.store = store
        self.transport = transport
        self.reference = reference
        self.tag = tag

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        if not self.store.exists("index.json"):
            raise FormatError(f"{self.store.label} is not an OCI layout: no index.json")
        index = manifests.parse_json(self.store.read("index.json", "index.json"), "index.json")
        if self.tag:
            index = select_by_tag(index, self.tag, self.store.label)
        resolved = manifests.resolve_doc(
            index,
            manifests.OCI_INDEX,
            None,
            lambda d, what: fetch_blob(self.store, d, what),
            platform,
            f"index.json of {self.store.label}",
        )
        # Here, not when a layer is read: a layer answered from the cache is never opened.
        for i, layer in enumerate(resolved.layers):
            if layer.digest is not None or layer.location is not None:
                path = layer.location or blob_path(layer.digest or "", f"layer {i}")
                if self.store.exists(path):  # a missing blob is reported when it is needed
                    check_size(self.store, path, layer, f"layer {i}")
        return resolved

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        return fetch_blob(self.store, manifest.config, "image config")

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        if descriptor.digest is None:
            raise FormatError(f"layer {index} has no digest")
        path = descriptor.location or blob_path(descriptor.digest, f"layer {index}")
        if not self.store.exists(path):
            raise FormatError(f"layer {index} names blob {descriptor.digest}, which is missing from {self.store.label}")
        with self.store.open(path) as blob:
            return read(blob, descriptor, index)

    def layer_identity(self, descriptor: Descriptor, index: int) -> str | None:
        """The file-identity cache key of this layer's bytes (None: not a file we can stat)."""
        if descriptor.digest is None and descriptor.location is None:
            return None
        return self.store.identity(descriptor.location or blob_path(descriptor.digest or "", f"layer {index}"))

    def close(self) -> None:
        pass
