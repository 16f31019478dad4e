"""Small images made inside tests: tar bytes we control, written in real layouts.

Layers are built with the stdlib tarfile writer (an independent implementation from our
walker); archives follow the layouts docker save and OCI tools write.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from typing import Any

import zstandard


@dataclass
class Entry:
    path: str
    data: bytes | None = b""  # None for directories / links
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000


def f(path: str, data: bytes | str = b"", mode: int = 0o644) -> Entry:
    return Entry(path, data.encode() if isinstance(data, str) else data, mode=mode)


def d(path: str, mode: int = 0o755) -> Entry:
    return Entry(path, None, tarfile.DIRTYPE, mode=mode)


def sym(path: str, target: str) -> Entry:
    return Entry(path, None, tarfile.SYMTYPE, target, mode=0o777)


def hard(path: str, target: str) -> Entry:
    return Entry(path, None, tarfile.LNKTYPE, target)


def wh(path: str) -> Entry:
    """A whiteout marker deleting `path` from lower layers."""
    parent, _, name = path.rpartition("/")
    return f(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opq(dir_path: str) -> Entry:
    return f(f"{dir_path}/.wh..wh..opq")


def layer_tar(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e.path)
            ti.type = e.type
            ti.mode, ti.uid, ti.gid, ti.mtime = e.mode, e.uid, e.gid, e.mtime
            ti.linkname = e.linkname
            if e.type == tarfile.REGTYPE:
                data = e.data or b""
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


MEDIA = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


@dataclass
class ImageSpec:
    """Layers (tar bytes) plus a config; written as docker-archive or OCI layout."""

    layers: list[bytes]
    history: list[dict[str, Any]] | None = None
    architecture: str = "amd64"
    os: str = "linux"
    config_extra: dict[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        history = self.history
        if history is None:
            history = [
                {"created_by": f"RUN step {i}", "created": "2024-01-01T00:00:00Z"} for i in range(len(self.layers))
            ]
        return {
            "architecture": self.architecture,
            "os": self.os,
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in self.layers]},
            "history": history,
            **self.config_extra,
        }

    def config_bytes(self) -> bytes:
        return json.dumps(self.config()).encode()

    def docker_archive(self, path: str, tag: str = "test/image:1") -> str:
        """The legacy `docker save` layout (Docker < 25): <id>/layer.tar + manifest.json."""
        cfg = self.config_bytes()
        cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
        members: list[tuple[str, bytes]] = [(cfg_name, cfg)]
        layer_paths = []
        for layer in self.layers:
            lid = hashlib.sha256(layer).hexdigest()
            layer_paths.append(f"{lid}/layer.tar")
            members += [(f"{lid}/VERSION", b"1.0"), (f"{lid}/json", b"{}"), (f"{lid}/layer.tar", layer)]
        manifest = [{"Config": cfg_name, "RepoTags": [tag], "Layers": layer_paths}]
        members.append(("manifest.json", json.dumps(manifest).encode()))
        write_tar(path, members)
        return path

    def oci_blobs(self, compression: str = "gzip") -> tuple[dict[str, bytes], dict[str, Any]]:
        """Blobs by digest and the index.json of an OCI layout."""
        blobs: dict[str, bytes] = {}
        cfg = self.config_bytes()
        blobs[sha(cfg)] = cfg
        layer_descs = []
        for layer in self.layers:
            blob = compress(layer, compression)
            blobs[sha(blob)] = blob
            layer_descs.append({"mediaType": MEDIA[compression], "digest": sha(blob), "size": len(blob)})
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
            "layers": layer_descs,
        }
        mbytes = json.dumps(manifest).encode()
        blobs[sha(mbytes)] = mbytes
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha(mbytes),
                    "size": len(mbytes),
                    "platform": {"os": self.os, "architecture": self.architecture},
                    "annotations": {"org.opencontainers.image.ref.name": "1"},
                }
            ],
        }
        return blobs, index

    def oci_dir(self, path: str, compression: str = "gzip") -> str:
        blobs, index = self.oci_blobs(compression)
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        for digest, data in blobs.items():
            with open(os.path.join(path, "blobs", "sha256", digest.split(":")[1]), "wb") as fh:
                fh.write(data)
        with open(os.path.join(path, "index.json"), "w") as fh:
            json.dump(index, fh)
        with open(os.path.join(path, "oci-layout"), "w") as fh:
            json.dump({"imageLayoutVersion": "1.0.0"}, fh)
        return path

    def oci_archive(self, path: str, compression: str = "gzip") -> str:
        blobs, index = self.oci_blobs(compression)
        members = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", json.dumps(index).encode())]
        members += [(f"blobs/sha256/{dg.split(':')[1]}", data) for dg, data in blobs.items()]
        write_tar(path, members)
        return path


def write_tar(path: str, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
