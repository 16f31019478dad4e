"""`docker save` archives: the legacy layout, Docker 25+'s OCI-in-save, the containerd
store's save (nested index, attestations, compressed blobs) and podman/skopeo's.

Truth is manifest.json's Layers plus the config's diff_ids (docs/image-formats.md §6); an OCI
index, when present, only adds the manifest digest and the layers' media types.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from layerscope.errors import FormatError, PlatformError
from layerscope.model import LayerRecord
from layerscope.sources import manifests
from layerscope.sources.handle import Descriptor, LayerReader, ResolvedManifest
from layerscope.sources.layout import blob_path, fetch_blob
from layerscope.sources.platforms import Platform
from layerscope.sources.stores import Store, clean_member

_BLOB = re.compile(r"^blobs/(sha256|sha512)/([a-f0-9]+)$")
LEGACY_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def blob_digest(path: str) -> str | None:
    m = _BLOB.match(path)
    return f"{m.group(1)}:{m.group(2)}" if m else None


def select_entry(entries: list[Any], selector: str | None, label: str) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    if not entries:
        raise FormatError(f"manifest.json in {label} lists no images")
    if selector is None:
        if len(entries) > 1:
            notes.append(f"the archive holds {len(entries)} images; reading the first (name one as PATH:NAME:TAG)")
        entry = entries[0]
    elif selector.startswith("@") and selector[1:].isdigit():
        i = int(selector[1:])
        if i >= len(entries):
            raise FormatError(f"{label} holds {len(entries)} images; there is no @{i}")
        entry = entries[i]
    else:
        want = selector if ":" in selector.rsplit("/", 1)[-1] else selector + ":latest"
        found = [e for e in entries if any(t in (want, "docker.io/" + want) for t in _repo_tags(e))]
        if not found:
            tags = sorted(t for e in entries for t in _repo_tags(e))
            raise FormatError(f"no image {want!r} in {label} (it has: {', '.join(tags) or 'untagged images'})")
        entry = found[0]
    if not isinstance(entry, dict):
        raise FormatError(f"manifest.json in {label} has an entry that is not an object")
    return entry, notes


def _repo_tags(entry: Any) -> list[str]:
    tags = entry.get("RepoTags") if isinstance(entry, dict) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


class DockerArchiveHandle:
    parallel_safe = True

    def __init__(self, store: Store, reference: str, selector: str | None = None, transport: str = "docker-archive"):
        self.store = store
        self.reference = reference
        self.selector = selector
        self.transport = transport
        self._config_path = ""

    def resolve(self, platform: Platform | None) -> ResolvedManifest:
        label = self.store.label
        raw = self.store.read("manifest.json", "manifest.json")
        try:
            entries = json.loads(raw)
        except (ValueError, RecursionError) as err:  # RecursionError: nested thousands deep
            raise FormatError(f"manifest.json in {label} is not valid JSON: {err}") from None
        if not isinstance(entries, list):
            raise FormatError(f"manifest.json in {label} is not a list of images")
        entry, notes = select_entry(entries, self.selector, label)
        config_path = entry.get("Config")
        layer_paths = entry.get("Layers")
        if not isinstance(config_path, str) or not isinstance(layer_paths, list):
            raise FormatError(f"manifest.json in {label} has no Config or Layers")
        self._config_path = clean_member(config_path, "Config")
        paths = [clean_member(str(p), "layer") for p in layer_paths]
        config_digest = blob_digest(self._config_path) or _config_digest_from_name(self._config_path)
        oci = self._oci_manifest(platform, config_digest)
        if oci is not None:
            notes = [*notes, *oci.notes]  # what the platform choice had to say
        if oci is not None and oci.config.digest != config_digest:
            return self._other_platform(oci, notes)
        sources = entry.get("LayerSources")
        sources = sources if isinstance(sources, dict) else {}
        layers = []
        for i, path in enumerate(paths):
            if not self.store.exists(path):
                raise FormatError(f"manifest.json names layer {path}, which is missing from {label}")
            digest = blob_digest(path)
            media_type = LEGACY_LAYER
            if oci is not None and i < len(oci.layers) and oci.layers[i].digest == digest:
                media_type = oci.layers[i].media_type
            elif digest and isinstance(sources.get(digest), dict):
                media_type = str(sources[digest].get("mediaType") or LEGACY_LAYER)
            layers.append(Descriptor(media_type, digest, self.store.size(path), location=path))
        config = Descriptor(
            "application/vnd.docker.container.image.v1+json", config_digest, None, location=self._config_path
        )
        manifest_digest = oci.digest if oci is not None and oci.config.digest == config_digest else None
        mt = oci.media_type if oci is not None else "docker-save manifest.json"
        plat = oci.platform if oci is not None else None
        return ResolvedManifest(manifest_digest, mt, config, tuple(layers), plat, tuple(notes))

    def _oci_manifest(self, platform: Platform | None, config_digest: str | None) -> ResolvedManifest | None:
        """The OCI manifest of Docker 25+ / containerd saves, for digests and media types.

        manifest.json lists one platform of an image; a containerd-store save of a
        multi-platform image holds the others too, in the index only. With --platform the
        manifest for that platform is chosen among the index entries that hold this image,
        whichever platform manifest.json names.
        """
        if not self.store.exists("index.json"):
            return None
        index = manifests.parse_json(self.store.read("index.json", "index.json"), "index.json")
        label = f"index.json of {self.store.label}"

        def fetch(d: Descriptor, what: str) -> bytes:
            return fetch_blob(self.store, d, what)

        own: list[Any] = []
        try:
            listed = index.get("manifests")
            own = [e for e in listed if self._holds(e, config_digest, fetch)] if isinstance(listed, list) else []
            if not own:
                return None
            doc = {**index, "manifests": own}
            wanted = platform
            if all(p is None for p, _ in manifests.image_manifests(doc, fetch, label)):
                wanted = None  # no platforms in the index (Docker 25+ overlay2 saves): the config's decides
            m = manifests.resolve_doc(doc, manifests.OCI_INDEX, None, fetch, wanted, label)
        except PlatformError:
            if platform is not None:
                raise
            return None
        except FormatError:
            if platform is not None and own:
                raise  # the requested platform's manifest or blobs are not in the archive
            return None  # early 25.0.x saves wrote indexes without manifests; manifest.json rules
        if m.config.digest == config_digest or wanted is not None:
            return m
        return None

    def _holds(self, entry: Any, config_digest: str | None, fetch: manifests.Fetch) -> bool:
        """True when this top-level index entry leads to a manifest with our config."""
        if not isinstance(entry, dict) or config_digest is None:
            return False
        for _, desc in manifests.image_manifests({"manifests": [entry]}, fetch, "index.json"):
            try:
                doc = manifests.parse_json(fetch(desc, f"manifest {desc.digest}"), f"manifest {desc.digest}")
            except FormatError:
                continue  # a platform the save left out
            cfg = doc.get("config")
            if isinstance(cfg, dict) and cfg.get("digest") == config_digest:
                return True
        return False

    def _other_platform(self, oci: ResolvedManifest, notes: list[str]) -> ResolvedManifest:
        """A platform of this image that only the OCI index lists: read it from blobs/."""
        label = self.store.label
        if oci.config.digest is None:
            raise FormatError(f"the manifest for {oci.platform} in {label} has no config digest")
        self._config_path = blob_path(oci.config.digest, "image config")
        layers = []
        for i, d in enumerate(oci.layers):
            path = blob_path(d.digest or "", f"layer {i}")
            if not self.store.exists(path):
                raise FormatError(f"layer {i} ({d.digest}) of the {oci.platform} image is missing from {label}")
            layers.append(replace(d, location=path))
        config = replace(oci.config, location=self._config_path)
        return ResolvedManifest(oci.digest, oci.media_type, config, tuple(layers), oci.platform, tuple(notes))

    def config_bytes(self, manifest: ResolvedManifest) -> bytes:
        raw = self.store.read(self._config_path, "image config")
        if manifest.config.digest:
            manifests.verify_bytes(raw, manifest.config.digest, "image config")
        return raw

    def layer_record(self, descriptor: Descriptor, index: int, read: LayerReader) -> LayerRecord:
        assert descriptor.location is not None
        with self.store.open(descriptor.location) as blob:
            return read(blob, descriptor, index)

    def layer_identity(self, descriptor: Descriptor, index: int) -> str | None:
        """The file-identity cache key of this layer's bytes (None: not a file we can stat)."""
        return None if descriptor.location is None else self.store.identity(descriptor.location)

    def close(self) -> None:
        pass


def _config_digest_from_name(path: str) -> str | None:
    """Legacy saves name the config '<hex>.json' (podman: '<hex>.json' too)."""
    base = path.rsplit("/", 1)[-1]
    if base.endswith(".json") and re.fullmatch(r"[a-f0-9]{64}", base[:-5]):
        return "sha256:" + base[:-5]
    return None
