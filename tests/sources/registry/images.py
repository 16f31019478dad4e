"""Test images for the registry: made with the factory, pushed with skopeo."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

from layerscope.model import Image
from tests.sources.registry.servers import skopeo_env
from tests.support.factory import ImageSpec, d, f, layer_tar, sha, wh

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def contents(image: Image) -> list[tuple[Any, ...]]:
    """Everything a layer read yields that does not depend on how the blob was stored."""
    out = []
    for layer in image.layers:
        r = layer.record
        assert r is not None
        out.append(
            (layer.diff_id, layer.size, layer.files, layer.created_by, layer.history_index, r.files, r.whiteouts,
             r.opaque_dirs, r.uncompressed_bytes, r.diff_id, r.captured)
        )  # fmt: skip
    return out


def sample_spec(tag: str = "", arch: str = "amd64") -> ImageSpec:
    """Three layers with an overwrite, a whiteout and a package-ish file; `tag` makes it unique."""
    mark = f("app/tag.txt", tag or "none")
    return ImageSpec(
        [
            layer_tar([d("app"), f("app/data.bin", b"d" * 40_000), f("etc/os-release", "ID=test\n"), mark]),
            layer_tar([f("app/data.bin", b"e" * 30_000), mark]),
            layer_tar([wh("etc/os-release"), f("app/small", b"s" * 10), mark]),
        ],
        architecture=arch,
        history=[
            {"created_by": "COPY app /app", "created": "2024-01-01T00:00:00Z"},
            {"created_by": "ENV X=1", "empty_layer": True},
            {"created_by": "RUN rewrite", "created": "2024-01-02T00:00:00Z"},
            {"created_by": "RUN rm /etc/os-release", "created": "2024-01-03T00:00:00Z"},
        ],
    )


def large_spec(tag: str, size: int = 3 << 20) -> ImageSpec:
    """One layer of `size` random bytes: a gzip blob about as large, for the download paths
    of large blobs (tests lower the bar that makes a blob "large")."""
    data = random.Random(tag).randbytes(size)
    return ImageSpec(
        [layer_tar([d("data"), f("data/random.bin", data), f("app/tag.txt", tag)])],
        history=[{"created_by": "COPY data /data", "created": "2024-01-01T00:00:00Z"}],
    )


def skopeo_copy(src: str, dest: str, workdir: Path, *extra: str, creds: str | None = None) -> None:
    args = ["skopeo", "copy", "-q", "--dest-tls-verify=false", *extra]
    if creds:
        args += ["--dest-creds", creds]
    p = subprocess.run([*args, src, dest], capture_output=True, text=True, env=skopeo_env(workdir), timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} {dest} failed: {p.stderr.strip()}")


def push_archive(spec: ImageSpec, host: str, repo: str, workdir: Path, creds: str | None = None) -> Path:
    """docker-archive -> registry (skopeo makes it a Docker v2s2 manifest with gzip layers)."""
    archive = workdir / (repo.replace("/", "_").replace(":", "_") + ".tar")
    spec.docker_archive(str(archive))
    skopeo_copy(f"docker-archive:{archive}", f"docker://{host}/{repo}", workdir, creds=creds)
    return archive


def push_oci(spec: ImageSpec, host: str, repo: str, workdir: Path, compression: str) -> Path:
    """An OCI layout (e.g. zstd layers) pushed as is: --format oci --preserve-digests."""
    layout = workdir / (repo.replace("/", "_").replace(":", "_") + f"-{compression}")
    spec.oci_dir(str(layout), compression)
    skopeo_copy(f"oci:{layout}:1", f"docker://{host}/{repo}", workdir, "--format", "oci", "--preserve-digests")
    return layout


def _manifest_blobs(spec: ImageSpec) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The spec's blobs, and the descriptor of its manifest (without the layout's ref name)."""
    blobs, index = spec.oci_blobs("gzip")
    desc = dict(index["manifests"][0])
    desc.pop("annotations", None)
    return blobs, desc


def attestation(for_digest: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """A BuildKit-style attestation manifest (platform unknown/unknown) for an image manifest."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": []}).encode()
    config = json.dumps(
        {"architecture": "unknown", "os": "unknown", "rootfs": {"type": "layers", "diff_ids": [sha(statement)]}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha(statement), "size": len(statement)}],
        }
    ).encode()
    desc = {
        "mediaType": OCI_MANIFEST,
        "digest": sha(manifest),
        "size": len(manifest),
        "platform": {"architecture": "unknown", "os": "unknown"},
        "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": for_digest,
        },
    }
    return {sha(statement): statement, sha(config): config, sha(manifest): manifest}, desc


def multi_platform_layout(specs: list[ImageSpec], path: Path, with_attestation: bool = True) -> dict[str, str]:
    """An OCI layout whose tag `1` is an index of the specs (attestation entry first).

    Returns platform -> manifest digest.
    """
    blobs: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    digests: dict[str, str] = {}
    for spec in specs:
        b, desc = _manifest_blobs(spec)
        blobs.update(b)
        if with_attestation:
            ab, adesc = attestation(desc["digest"])
            blobs.update(ab)
            entries.append(adesc)
        entries.append(desc)
        digests[f"{spec.os}/{spec.architecture}"] = desc["digest"]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    blobs[sha(index)] = index
    (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    for digest, data in blobs.items():
        (path / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    top = {
        "mediaType": OCI_INDEX,
        "digest": sha(index),
        "size": len(index),
        "annotations": {"org.opencontainers.image.ref.name": "1"},
    }
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    digests["index"] = sha(index)
    return digests


def push_multi(specs: list[ImageSpec], host: str, repo: str, workdir: Path) -> dict[str, str]:
    layout = workdir / (repo.replace("/", "_").replace(":", "_") + "-multi")
    digests = multi_platform_layout(specs, layout)
    skopeo_copy(f"oci:{layout}:1", f"docker://{host}/{repo}", workdir, "--all", "--preserve-digests")
    return digests
