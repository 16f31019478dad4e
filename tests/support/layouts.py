"""Image layouts the basic factory does not write: multi-platform and nested OCI indexes,
attestation manifests, tags, legacy saves with layer.tar symlinks, podman's `<hex>.tar`
layout and archives holding two images. Members may be symlinks (tar members here)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.factory import MEDIA, ImageSpec, compress, sha

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class Member:
    name: str
    data: bytes = b""
    symlink: str | None = None  # a symlink member pointing here
    hardlink: str | None = None


def write_members(path: str, members: list[Member]) -> str:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            ti = tarfile.TarInfo(m.name)
            ti.mtime = 0
            if m.symlink is not None:
                ti.type, ti.linkname = tarfile.SYMTYPE, m.symlink
                t.addfile(ti)
            elif m.hardlink is not None:
                ti.type, ti.linkname = tarfile.LNKTYPE, m.hardlink
                t.addfile(ti)
            else:
                ti.size = len(m.data)
                t.addfile(ti, io.BytesIO(m.data))
    return path


def write_dir(path: str, members: list[Member]) -> str:
    for m in members:
        full = os.path.join(path, m.name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if m.symlink is not None:
            os.symlink(m.symlink, full)
        elif m.hardlink is not None:
            os.link(os.path.join(path, m.hardlink), full)
        else:
            with open(full, "wb") as fh:
                fh.write(m.data)
    return path


def _json(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@dataclass
class OciLayout:
    """Blobs plus index.json entries; `members()` for a directory or an oci-archive."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add_blob(self, data: bytes) -> dict[str, Any]:
        self.blobs[sha(data)] = data
        return {"digest": sha(data), "size": len(data)}

    def add_image(
        self,
        spec: ImageSpec,
        compression: str = "gzip",
        config_type: str = OCI_CONFIG,
        blob: Callable[[bytes], bytes] | None = None,
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Config + layers + manifest; returns the manifest descriptor (not yet indexed).

        `blob` rewrites each stored layer blob (its digest follows), `edit` the manifest.
        """
        layers = []
        for layer in spec.layers:
            stored = compress(layer, compression)
            desc = self.add_blob(blob(stored) if blob else stored)
            layers.append({"mediaType": MEDIA[compression], **desc})
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, **self.add_blob(spec.config_bytes())},
            "layers": layers,
        }
        if edit:
            edit(manifest)
        desc = {"mediaType": OCI_MANIFEST, **self.add_blob(_json(manifest))}
        return {**desc, "platform": {"os": spec.os, "architecture": spec.architecture}}

    def attestation_for(self, manifest_desc: dict[str, Any]) -> dict[str, Any]:
        """A BuildKit attestation manifest (unknown/unknown, in-toto layer)."""
        statement = self.add_blob(b'{"_type": "https://in-toto.io/Statement/v0.1"}')
        config = self.add_blob(b'{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}')
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **config},
            "layers": [{"mediaType": "application/vnd.in-toto+json", **statement}],
        }
        return {
            "mediaType": OCI_MANIFEST,
            **self.add_blob(_json(manifest)),
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": manifest_desc["digest"],
            },
        }

    def nested_index(self, descs: list[dict[str, Any]], **annotations: str) -> dict[str, Any]:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}
        out = {"mediaType": OCI_INDEX, **self.add_blob(_json(index))}
        return {**out, "annotations": annotations} if annotations else out

    def index_json(self) -> bytes:
        return _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries})

    def members(self) -> list[Member]:
        out = [Member("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), Member("index.json", self.index_json())]
        out += [Member(f"blobs/sha256/{d.split(':')[1]}", b) for d, b in self.blobs.items()]
        return out

    def write_dir(self, path: str) -> str:
        return write_dir(path, self.members())

    def write_archive(self, path: str) -> str:
        return write_members(path, self.members())


def multi_platform(specs: list[ImageSpec], nested: bool = True, attest: bool = True, tag: str = "1") -> OciLayout:
    """One index (nested under index.json, as the containerd store saves) over several platforms."""
    lay = OciLayout()
    descs = []
    for spec in specs:
        m = lay.add_image(spec)
        descs.append(m)
        if attest:
            descs.append(lay.attestation_for(m))
    if nested:
        lay.entries = [lay.nested_index(descs, **{REF_NAME: tag})]
    else:
        lay.entries = [{**dsc, "annotations": {REF_NAME: tag}} for dsc in descs]
    return lay


def single(spec: ImageSpec, **kw: Any) -> OciLayout:
    """One image (`add_image` keywords apply), listed in index.json with its platform."""
    lay = OciLayout()
    lay.entries.append(lay.add_image(spec, **kw))
    return lay


def tagged(specs: dict[str, ImageSpec]) -> OciLayout:
    """Several images in one layout, each named by a ref.name annotation."""
    lay = OciLayout()
    for tag, spec in specs.items():
        lay.entries.append({**lay.add_image(spec), "annotations": {REF_NAME: tag}})
    return lay


# -- docker save layouts -------------------------------------------------------------------


def _v1id(i: int, layer: bytes) -> str:
    return hashlib.sha256(f"{i}:".encode() + hashlib.sha256(layer).digest()).hexdigest()


def legacy_members(spec: ImageSpec, tags: list[str], link_repeats: bool = True) -> tuple[list[Member], dict[str, Any]]:
    """Docker < 25: `<v1id>/layer.tar`; a layer seen before becomes a symlink to the first copy."""
    cfg = spec.config_bytes()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    members = [Member(cfg_name, cfg)]
    first: dict[bytes, str] = {}
    paths = []
    for i, layer in enumerate(spec.layers):
        vid = _v1id(i, layer)
        paths.append(f"{vid}/layer.tar")
        members += [Member(f"{vid}/VERSION", b"1.0"), Member(f"{vid}/json", _json({"id": vid}))]
        if link_repeats and layer in first:
            members.append(Member(f"{vid}/layer.tar", symlink=f"../{first[layer]}/layer.tar"))
        else:
            first.setdefault(layer, vid)
            members.append(Member(f"{vid}/layer.tar", layer))
    return members, {"Config": cfg_name, "RepoTags": tags, "Layers": paths}


def docker_archive(path: str, images: list[tuple[ImageSpec, list[str]]], link_repeats: bool = True) -> str:
    """A legacy save holding one or more images (manifest.json lists them all)."""
    members: list[Member] = []
    manifest = []
    seen: set[str] = set()
    for spec, tags in images:
        ms, entry = legacy_members(spec, tags, link_repeats)
        members += [m for m in ms if m.name not in seen]
        seen.update(m.name for m in ms)
        manifest.append(entry)
    members.append(Member("manifest.json", _json(manifest)))
    members.append(Member("repositories", b"{}"))
    return write_members(path, members)


def podman_archive(path: str, spec: ImageSpec, tag: str = "localhost/test:1") -> str:
    """podman/skopeo `docker-archive:`: `<diffid-hex>.tar` layers, `<v1id>/layer.tar` symlinks to them."""
    cfg = spec.config_bytes()
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    members = [Member(f"{cfg_hex}.json", cfg)]
    names = []
    for i, layer in enumerate(spec.layers):
        hexid = hashlib.sha256(layer).hexdigest()
        if f"{hexid}.tar" not in names:
            members.append(Member(f"{hexid}.tar", layer))
        names.append(f"{hexid}.tar")
        vid = _v1id(i, layer)
        members += [Member(f"{vid}/layer.tar", symlink=f"../{hexid}.tar"), Member(f"{vid}/VERSION", b"1.0")]
    manifest = [{"Config": f"{cfg_hex}.json", "RepoTags": [tag], "Layers": names}]
    members += [Member("manifest.json", _json(manifest)), Member("repositories", b"{}")]
    return write_members(path, members)
