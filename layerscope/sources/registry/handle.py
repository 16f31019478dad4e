"""`docker://HOST/REPO[:TAG|@DIGEST]`: an image in a registry, as an ImageHandle.

Tags are resolved by HEAD first (Docker Hub counts GETs, not HEADs), then the manifest is
fetched by digest, so the bytes always match the digest we report. Indexes are walked by
the shared code in sources/manifests.py; every manifest fetched is checked against the
digest that named it.
"""

from __future__ import annotations

from typing import Any

from layerscope.errors import FormatError
from layerscope.model import LayerRecord
from layerscope.sources import manifests
from layerscope.sources.handle import Descriptor, LayerReader, ResolvedManifest
from layerscope.sources.platforms import Platform
from layerscope.sources.registry.blobs import BlobStream
from layerscope.sources.registry.client import RawManifest, RegistryClient
from layerscope.sources.registry.options import RegistryOptions
from layerscope.sources.registry.reference import RegistryName, parse_name

MAX_CONFIG = 32 << 20
KNOWN_TYPES = manifests.INDEX_TYPES | manifests.MANIFEST_TYPES


class RegistryHandle:
    transport = "docker"
    parallel_safe = True

    def __init__(self, location: str, reference: str, options: RegistryOptions | None = None) -> None:
        self.name: RegistryName = parse_name(location)
        self.reference = reference
        self.client = RegistryClient(self.name, options or RegistryOptions.create())

    def top_manifest(self) -> RawManifest:
        name = self.name
        if name.digest:
            return self.client.manifest(name.digest, name.digest, f"manifest {name}")
        assert name.tag is not None
        digest = self.client.head_digest(name.tag)
        if digest is None:  # a registry that does not say: GET by tag, check against its header
            return self.client.manifest(name.tag, None, f"manifest {name}")
        return self.client.manifest(digest, digest, f"manifest {name}")

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        top = self.top_manifest()
        what = f"manifest of {self.name}"
        doc = _checked_doc(top, what)
        return manifests.resolve_doc(doc, top.media_type, top.digest, self._fetch, platform, what)

    def _fetch(self, desc: Descriptor, what: str) -> bytes:
        if desc.digest is None:
            raise FormatError(f"{what} has no digest")
        got = self.client.manifest(desc.digest, desc.digest, what)
        _checked_doc(got, what, desc.media_type or None)
        return got.raw

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        return self.client.blob_bytes(manifest.config, MAX_CONFIG, "image config")

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        with BlobStream(self.client, descriptor, f"layer {index}") as blob:
            return read(blob, descriptor, index)

    def close(self) -> None:
        self.client.close()


def _checked_doc(got: RawManifest, what: str, listed: str | None = None) -> dict[str, Any]:
    """The parsed document; its own mediaType must agree with how it was served and listed."""
    doc = manifests.parse_json(got.raw, what)
    declared = doc.get("mediaType")
    for other, how in ((got.media_type, "served as"), (listed, "listed as")):
        if isinstance(declared, str) and declared in KNOWN_TYPES and other in KNOWN_TYPES and other != declared:
            raise FormatError(f"{what} says it is {declared} but was {how} {other}")
    return doc
