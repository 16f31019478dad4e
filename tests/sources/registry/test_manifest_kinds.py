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

from tests.sources.registry.conftest import Pushed
from tests.sources.registry.hostile import HostileServer, Reply
from tests.sources.registry.images import push_archive, sample_spec
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
