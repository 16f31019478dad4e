"""A fleet of test images made from the committed samples: shared bases, several tags of
one image, several repositories, and one broken image.

Every variant is a sample's own layers (read from sample_images/*.oci.tar, gzip blobs as
BuildKit wrote them) plus one small layer generated here, with its config and manifest
written anew; they are pushed with tests/support/pushimage.py.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.factory import f, layer_tar, sha
from tests.support.pushimage import push
from tests.support.samples import SAMPLES

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Base:
    config: dict[str, Any]
    manifest: dict[str, Any]
    blobs: dict[str, bytes]


@dataclass
class FleetImage:
    repository: str  # without the host
    tag: str
    base: str  # the sample it is built on
    digest: str = ""

    def ref(self, host: str) -> str:
        return f"docker://{host}/{self.repository}:{self.tag}"


@dataclass
class Fleet:
    host: str
    images: list[FleetImage] = field(default_factory=list)
    broken: list[FleetImage] = field(default_factory=list)

    def refs(self) -> list[str]:
        return [i.ref(self.host) for i in self.images]

    @property
    def repositories(self) -> list[str]:
        return sorted({i.repository for i in self.images + self.broken})


def read_sample(name: str) -> Base:
    path = SAMPLES / f"{name}.oci.tar"
    with tarfile.open(path) as t:

        def blob(digest: str) -> bytes:
            member = t.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
            assert member is not None
            return member.read()

        index = json.loads(t.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        blobs = {layer["digest"]: blob(layer["digest"]) for layer in manifest["layers"]}
    return Base(config, manifest, blobs)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def variant(base: Base, extra: list[bytes], step: str) -> tuple[dict[str, bytes], bytes]:
    """The base with `extra` layer tars on top: (blobs, manifest bytes)."""
    config = json.loads(json.dumps(base.config))
    manifest = json.loads(json.dumps(base.manifest))
    blobs = dict(base.blobs)
    for tar in extra:
        gz = _gzip(tar)
        blobs[sha(gz)] = gz
        manifest["layers"].append({"mediaType": OCI_LAYER_GZIP, "digest": sha(gz), "size": len(gz)})
        config["rootfs"]["diff_ids"].append(sha(tar))
        config.setdefault("history", []).append({"created": "2025-01-01T00:00:00Z", "created_by": step})
    raw_config = json.dumps(config, separators=(",", ":")).encode()
    blobs[sha(raw_config)] = raw_config
    manifest["config"] = {"mediaType": OCI_CONFIG, "digest": sha(raw_config), "size": len(raw_config)}
    manifest.pop("annotations", None)
    return blobs, json.dumps(manifest, separators=(",", ":")).encode()


def app_layer(name: str, size: int = 3000) -> bytes:
    """A small application layer whose bytes are unique to `name`."""
    body = (name.encode() + b"\n") * (size // (len(name) + 1) + 1)
    return layer_tar([f("srv/app/NAME", name), f("srv/app/main.py", body[:size])])


# (repository, tags, base sample)
PLAN: list[tuple[str, list[str], str]] = [
    ("samples/fat", ["1"], "fat"),
    ("samples/slim", ["1"], "slim"),
    ("samples/pip", ["1"], "pip"),
    ("samples/whiteouts", ["1"], "whiteouts"),
    ("apps/agent", [f"1.{n}" for n in range(12)], "slim"),
    *[(f"apps/web-{n}", ["latest"], "pip") for n in range(8)],
    ("ml/train", ["v1", "v2", "v3", "v4"], "fat"),
    ("ml/serve", ["2024.1", "2024.2"], "whiteouts"),
]


def build_fleet(host: str) -> Fleet:
    bases = {name: read_sample(name) for name in ("fat", "slim", "pip", "whiteouts")}
    fleet = Fleet(host)
    for repository, tags, base in PLAN:
        for tag in tags:
            image = FleetImage(repository, tag, base)
            if repository.startswith("samples/"):
                blobs, manifest = variant(bases[base], [], "")
            else:
                name = f"{repository}:{tag}"
                blobs, manifest = variant(bases[base], [app_layer(name)], f"COPY app /srv/app # {name}")
            image.digest = push(host, repository, tag, blobs, manifest, OCI_MANIFEST)
            fleet.images.append(image)
    # Broken: a layer whose bytes are not an archive (gzip of random bytes).
    garbage = _gzip(os.urandom(2048))
    broken = variant(bases["pip"], [], "")
    manifest = json.loads(broken[1])
    manifest["layers"].append({"mediaType": OCI_LAYER_GZIP, "digest": sha(garbage), "size": len(garbage)})
    config = json.loads(broken[0][manifest["config"]["digest"]])
    config["rootfs"]["diff_ids"].append(sha(gzip.decompress(garbage)))
    raw_config = json.dumps(config).encode()
    manifest["config"] = {"mediaType": OCI_CONFIG, "digest": sha(raw_config), "size": len(raw_config)}
    blobs = {**broken[0], sha(garbage): garbage, sha(raw_config): raw_config}
    image = FleetImage("broken/garbage", "1", "pip")
    image.digest = push(host, image.repository, image.tag, blobs, json.dumps(manifest).encode(), OCI_MANIFEST)
    fleet.broken.append(image)
    return fleet


def write_list(path: Path, refs: list[str]) -> Path:
    path.write_text("# the fleet\n" + "\n".join(refs) + "\n")
    return path
