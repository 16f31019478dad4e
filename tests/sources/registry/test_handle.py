"""docker:// against a real anonymous docker-registry: same results as docker-archive,
zstd, multi-platform indexes, digest references, manifest-only without layer downloads."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from layerscope import api
from layerscope.errors import DigestError, PlatformError, RegistryError
from tests.sources.registry.conftest import Pushed
from tests.sources.registry.images import contents
from tests.sources.registry.servers import FaultProxy, Registry

pytestmark = pytest.mark.registry


def head_digest(host: str, repo: str, tag: str) -> str:
    accept = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json"
    r = httpx.head(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": accept})
    return str(r.headers["docker-content-digest"])


def test_same_layer_records_as_docker_archive(plain_image: Pushed) -> None:
    remote = api.open_image(plain_image.ref, verify=True, use_cache=False)
    local = api.open_image(f"docker-archive:{plain_image.archive}", verify=True, use_cache=False)
    assert contents(remote) == contents(local)
    assert remote.config_digest == local.config_digest
    assert remote.source == "docker"
    assert remote.digest == head_digest(plain_image.host, "sample/plain", "1")
    assert [layer.media_type for layer in remote.layers] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"] * 3
    assert all(layer.record and layer.record.compression == "gzip" for layer in remote.layers)
    # compressed sizes are the registry's blob sizes, which the stream also counted
    assert [layer.compressed_size for layer in remote.layers] == [
        layer.record.stored_bytes for layer in remote.layers if layer.record
    ]


def test_inspect_json_equals_docker_archive(plain_image: Pushed, run_cli: Any) -> None:
    docs = []
    for ref in (plain_image.ref, f"docker-archive:{plain_image.archive}"):
        r = run_cli("inspect", "--json", "--no-cache", ref)
        assert r.code == 0, r.err
        docs.append(json.loads(r.out))
    remote, local = docs
    for key in ("totals", "waste", "dive", "history", "image_id", "platform"):
        if key == "totals":
            remote[key].pop("compressed_size"), local[key].pop("compressed_size")
        assert remote[key] == local[key], key
    strip = ("digest", "media_type", "compressed_size")
    assert [{k: v for k, v in la.items() if k not in strip} for la in remote["layers"]] == [
        {k: v for k, v in la.items() if k not in strip} for la in local["layers"]
    ]
    assert remote["source"] == "docker" and remote["reference"] == plain_image.ref
    assert remote["digest"].startswith("sha256:")
    assert remote["unknown"] == []


def test_zstd_layers_through_an_oci_manifest(zstd_image: Pushed) -> None:
    remote = api.open_image(zstd_image.ref, verify=True, use_cache=False)
    local = api.open_image(f"docker-archive:{zstd_image.archive}", verify=True, use_cache=False)
    assert [layer.media_type for layer in remote.layers] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 3
    assert all(layer.record and layer.record.compression == "zstd" for layer in remote.layers)
    assert contents(remote) == contents(local)


def test_multi_platform_index_with_attestations(multi_image: Pushed) -> None:
    for plat, arch in (("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/aarch64", "arm64")):
        image = api.open_image(multi_image.ref, platform=plat, use_cache=False)
        assert image.platform == f"linux/{arch}"
        assert image.digest == multi_image.digests[f"linux/{arch}"]
        assert all(layer.record is not None for layer in image.layers)
    with pytest.raises(PlatformError) as err:
        api.open_image(multi_image.ref, platform="linux/s390x", manifest_only=True)
    assert "linux/amd64" in str(err.value) and "linux/arm64" in str(err.value)
    assert "unknown" not in str(err.value)  # attestation entries are not platforms


def test_nested_index(multi_image: Pushed) -> None:
    """An index whose entry is another index (allowed by the spec) is walked through."""
    inner = multi_image.digests["index"]
    base = f"http://{multi_image.host}/v2/sample/multi"
    size = len(
        httpx.get(f"{base}/manifests/{inner}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}).content
    )
    outer = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": inner, "size": size}],
    }
    put = httpx.put(
        f"{base}/manifests/nested",
        content=json.dumps(outer).encode(),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    )
    assert put.status_code == 201, put.text
    image = api.open_image(
        f"docker://{multi_image.host}/sample/multi:nested", platform="linux/arm64", manifest_only=True
    )
    assert image.digest == multi_image.digests["linux/arm64"]


def test_digest_references(plain_image: Pushed) -> None:
    digest = head_digest(plain_image.host, "sample/plain", "1")
    by_digest = api.open_image(f"docker://{plain_image.host}/sample/plain@{digest}", manifest_only=True)
    both = api.open_image(f"docker://{plain_image.host}/sample/plain:1@{digest}", manifest_only=True)
    assert by_digest.digest == both.digest == digest
    wrong = "sha256:" + "0" * 64
    with pytest.raises(RegistryError, match="not found"):
        api.open_image(f"docker://{plain_image.host}/sample/plain@{wrong}", manifest_only=True)


def test_manifest_only_downloads_no_layer(plain_image: Pushed, anon_registry: Registry) -> None:
    proxy = FaultProxy(f"http://{anon_registry.host}")
    try:
        image = api.open_image(f"docker://{proxy.host}/sample/plain:1", manifest_only=True)
        blob_paths = [r.path for r in proxy.requests if "/blobs/" in r.path]
        layer_digests = {layer.digest for layer in image.layers}
        assert blob_paths == [f"/v2/sample/plain/blobs/{image.config_digest}"]
        assert not any(d and d in p for d in layer_digests for p in blob_paths)
        assert all(layer.record is None and layer.compressed_size for layer in image.layers)
    finally:
        proxy.close()


def test_manifest_only_cli_says_what_is_unknown(plain_image: Pushed, run_cli: Any) -> None:
    r = run_cli("inspect", "--manifest-only", "--json", plain_image.ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["manifest_only"] is True
    assert {"layers[].size", "totals.final_size", "totals.wasted_bytes", "dive"} <= set(doc["unknown"])
    assert all(layer["size"] is None and layer["compressed_size"] > 0 for layer in doc["layers"])
    assert doc["totals"]["compressed_size"] == sum(layer["compressed_size"] for layer in doc["layers"])
    assert doc["totals"]["final_size"] is None and doc["dive"] is None
    text = run_cli("inspect", "--manifest-only", plain_image.ref)
    assert text.code == 0, text.err
    unknown = [line for line in text.out.splitlines() if line.startswith("Unknown")]
    assert unknown and "uncompressed layer sizes" in unknown[0] and "--manifest-only" in unknown[0]


def test_missing_tag_and_repository_one_line(plain_image: Pushed, run_cli: Any) -> None:
    for ref in (f"docker://{plain_image.host}/sample/plain:nope", f"docker://{plain_image.host}/sample/none:1"):
        r = run_cli("inspect", ref)
        assert r.code == 2
        assert r.err.count("\n") == 1 and "not found" in r.err and "Traceback" not in r.err


def test_manifest_digest_mismatch(anon_registry: Registry, registry_dir: Any, run_cli: Any) -> None:
    """The registry serves manifest bytes that do not hash to the digest: refused."""
    from tests.sources.registry.images import push_archive, sample_spec

    push_archive(sample_spec("bad-manifest"), anon_registry.host, "sample/badmanifest:1", registry_dir)
    digest = head_digest(anon_registry.host, "sample/badmanifest", "1")
    stored = anon_registry.blob_path(digest)
    stored.write_bytes(stored.read_bytes() + b" ")  # still valid JSON, another digest
    with pytest.raises(DigestError, match="digest mismatch"):
        api.open_image(f"docker://{anon_registry.host}/sample/badmanifest:1", manifest_only=True)
    r = run_cli("inspect", f"docker://{anon_registry.host}/sample/badmanifest:1")
    assert r.code == 2 and "digest mismatch in manifest" in r.err and r.err.count("\n") == 1


def test_blob_digest_mismatch(anon_registry: Registry, registry_dir: Any, run_cli: Any) -> None:
    """A layer whose bytes still decode but do not hash to its digest (gzip header mtime changed)."""
    from tests.sources.registry.images import push_archive, sample_spec

    push_archive(sample_spec("bad-blob"), anon_registry.host, "sample/badblob:1", registry_dir)
    image = api.open_image(f"docker://{anon_registry.host}/sample/badblob:1", manifest_only=True)
    digest = image.layers[1].digest
    assert digest
    stored = anon_registry.blob_path(digest)
    data = bytearray(stored.read_bytes())
    assert data[:2] == b"\x1f\x8b"
    data[4:8] = b"\x01\x02\x03\x04"  # MTIME: ignored by decoders, part of the digest
    stored.write_bytes(bytes(data))
    r = run_cli("inspect", "--no-cache", f"docker://{anon_registry.host}/sample/badblob:1")
    assert r.code == 2, r.out
    assert "digest mismatch in layer 1" in r.err and digest in r.err and r.err.count("\n") == 1
