"""Manifests a real registry serves that are not plain images: foreign layers with URLs,
OCI artifacts, indexes with arm variants; and a manifest larger than any registry stores
(a tiny server). Each is read or refused with one clear line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from layerscope.sources.platforms import Platform
from tests.sources.registry.conftest import Pushed
from tests.sources.registry.hostile import HostileServer, Reply
from tests.sources.registry.images import push_archive, push_multi, sample_spec
from tests.sources.registry.rawpush import get_manifest, put_blob, put_manifest, sha
from tests.sources.registry.servers import Registry

pytestmark = pytest.mark.registry
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


@pytest.fixture(scope="module")
def urls_image(registry_dir: Path) -> Iterator[Pushed]:
    """An image in a registry that accepts manifests naming URLs (distribution refuses them
    unless `validation.manifests.urls.allow` says otherwise)."""
    allow = {"validation": {"manifests": {"urls": {"allow": ["^https?://"]}}}}
    registry = Registry(registry_dir / "urls", extra=allow)
    try:
        archive = push_archive(sample_spec("urls"), registry.host, "sample/urls:1", registry_dir)
        yield Pushed(registry.host, "sample/urls:1", sample_spec("urls"), archive)
    finally:
        registry.stop()


def test_a_foreign_layer_is_never_fetched_from_its_urls(urls_image: Pushed, run_cli: Any) -> None:
    """A Windows-style manifest: layer 0 is foreign, its blob not in the registry (distribution
    does not ask for it), its URL on another server. That server is never asked."""
    repo, tag = urls_image.repo.split(":")
    manifest = get_manifest(urls_image.host, repo, tag, DOCKER_MANIFEST)
    config = json.loads(httpx.get(f"http://{urls_image.host}/v2/{repo}/blobs/{manifest['config']['digest']}").content)
    absent = b"a foreign layer nobody uploaded"
    config["rootfs"]["diff_ids"].insert(0, sha(absent))
    config["history"].insert(0, {"created_by": "foreign base"})
    raw_config = json.dumps(config).encode()
    manifest["config"] = {"mediaType": manifest["config"]["mediaType"], **put_blob(urls_image.host, repo, raw_config)}
    with HostileServer(lambda method, path, headers: Reply(200, absent)) as elsewhere:
        url = f"http://{elsewhere.host}/layer.tar.gz?sig=s3cr3t"
        foreign = {"mediaType": FOREIGN, "digest": sha(absent), "size": len(absent), "urls": [url]}
        manifest["layers"].insert(0, foreign)
        put_manifest(urls_image.host, repo, "foreign", manifest)
        ref = f"docker://{urls_image.host}/{repo}:foreign"
        r = run_cli("inspect", "--no-cache", ref)
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert "layer 0" in r.err and "foreign (non-distributable) layer" in r.err
        assert "does not download from URLs a manifest names" in r.err and "'127.0.0.1'" in r.err
        assert "s3cr3t" not in r.err
        r = run_cli("inspect", "--json", "--manifest-only", ref)
        assert r.code == 0, r.err
        layers = json.loads(r.out)["layers"]
        assert len(layers) == 4 and layers[0]["media_type"] == FOREIGN
        assert elsewhere.requests == []


@pytest.fixture(scope="module")
def variants(anon_registry: Registry, registry_dir: Path) -> dict[str, str]:
    """An index of linux/amd64, linux/arm/v7 (the variant written out) and linux/arm64 images."""
    specs = [sample_spec("v-amd64", "amd64"), sample_spec("v-arm", "arm"), sample_spec("v-arm64", "arm64")]
    digests = push_multi(specs, anon_registry.host, "sample/variants:1", registry_dir)
    index = get_manifest(anon_registry.host, "sample/variants", "1", OCI_INDEX)
    for entry in index["manifests"]:
        if entry.get("platform", {}).get("architecture") == "arm":
            entry["platform"]["variant"] = "v7"
    digests["index"] = put_manifest(anon_registry.host, "sample/variants", "2", index)[0]
    return digests


@pytest.mark.parametrize(
    ("asked", "chosen"),
    [
        ("linux/arm/v7", "linux/arm"),
        ("linux/arm", "linux/arm"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/amd64", "linux/amd64"),
    ],
)
def test_platform_variants_are_chosen(
    variants: dict[str, str], anon_registry: Registry, asked: str, chosen: str, run_cli: Any
) -> None:
    ref = f"docker://{anon_registry.host}/sample/variants:2"
    r = run_cli("inspect", "--json", "--manifest-only", "--platform", asked, ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["digest"] == variants[chosen] and doc["platform"] == str(Platform.parse(asked))


@pytest.mark.parametrize(
    ("asked", "chosen"),
    [("linux/arm/v8", "linux/arm/v7"), ("linux/arm64/v9", "linux/arm64"), ("linux/amd64/v3", "linux/amd64")],
)
def test_a_platform_falls_back_as_containerd_does(
    variants: dict[str, str], anon_registry: Registry, asked: str, chosen: str, run_cli: Any
) -> None:
    """No exact entry: the closest one that runs on the platform asked for, and a note says so."""
    ref = f"docker://{anon_registry.host}/sample/variants:2"
    r = run_cli("inspect", "--json", "--manifest-only", "--platform", asked, ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["digest"] == variants[chosen.removesuffix("/v7")] and doc["platform"] == chosen
    assert any(f"has no {asked} image; chose {chosen}" in n for n in doc["notes"]), doc["notes"]


@pytest.mark.parametrize("asked", ["linux/arm/v6", "windows/amd64", "linux/riscv64"])
def test_no_matching_platform_lists_what_is_there(
    variants: dict[str, str], anon_registry: Registry, asked: str, run_cli: Any
) -> None:
    r = run_cli("inspect", "--manifest-only", "--platform", asked, f"docker://{anon_registry.host}/sample/variants:2")
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"no manifest for platform {asked}" in r.err
    assert "(it has: linux/amd64, linux/arm/v7, linux/arm64)" in r.err


@pytest.mark.parametrize(
    ("config_type", "artifact_type", "layer_type"),
    [
        ("application/vnd.cncf.helm.config.v1+json", None, "application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
        ("application/vnd.oci.empty.v1+json", "application/vnd.example.sbom+json", "application/spdx+json"),
    ],
)
def test_an_oci_artifact_is_refused_clearly(
    anon_registry: Registry, config_type: str, artifact_type: str | None, layer_type: str, run_cli: Any
) -> None:
    """A Helm chart, and an OCI 1.1 artifact (empty config, artifactType): not images."""
    host, repo = anon_registry.host, "sample/artifact"
    config = put_blob(host, repo, b"{}")
    layer = put_blob(host, repo, b"artifact payload " + config_type.encode())
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, **config},
        "layers": [{"mediaType": layer_type, **layer}],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    digest, _ = put_manifest(host, repo, "a", manifest)
    for extra in ((), ("--manifest-only",)):
        r = run_cli("inspect", *extra, f"docker://{host}/{repo}@{digest}")
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert f"is not a container image: its config has media type {config_type} (an OCI artifact?)" in r.err


def test_a_manifest_larger_than_any_registry_stores_is_not_read(run_cli: Any) -> None:
    """4 MiB is distribution's own limit on a manifest; a server sending more is cut off there."""
    huge = b'{"schemaVersion": 2, "pad": "' + b"x" * (5 << 20) + b'"}'

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if "/manifests/" in path and method == "GET":
            return Reply(200, huge, {"Content-Type": OCI_MANIFEST})
        return Reply(200, b"{}", {"Content-Type": "application/json"})  # /v2/, and HEAD without a digest

    with HostileServer(answer) as server:
        r = run_cli("inspect", "--manifest-only", f"docker://{server.host}/big/manifest:1")
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert "is larger than 4194304 bytes; refusing to read it" in r.err


SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"


@pytest.mark.parametrize("content_type", [SCHEMA1, "application/json"])
def test_a_schema1_manifest_is_refused_clearly(content_type: str, run_cli: Any) -> None:
    """Old registries still serve schema 1 (distribution 2.8 no longer accepts it unsigned, so
    a tiny server stands in): refused, with what to do."""
    doc = {
        "schemaVersion": 1,
        "name": "old/image",
        "tag": "1",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
        "history": [{"v1Compatibility": "{}"}],
    }
    body = json.dumps(doc).encode()

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if "/manifests/" in path:
            return Reply(200, body, {"Content-Type": content_type, "Docker-Content-Digest": sha(body)})
        return Reply(200, b"{}")

    with HostileServer(answer) as server:
        r = run_cli("inspect", f"docker://{server.host}/old/image:1")
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert "is a Docker schema 1 manifest (deprecated); re-push the image" in r.err
