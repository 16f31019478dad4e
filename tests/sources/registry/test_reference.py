"""Registry names: Docker's normalisation and distribution's grammar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layerscope.errors import BadReferenceError
from layerscope.sources.registry.reference import DOCKER_HUB_API, parse_name
from tests.sources.registry.images import sample_spec
from tests.sources.registry.rawpush import put_blob, put_manifest
from tests.support.registry import Registry

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python:3.11-slim", "docker.io", "library/python", "3.11-slim", None),
        ("python", "docker.io", "library/python", "latest", None),
        ("bitnami/redis", "docker.io", "bitnami/redis", "latest", None),
        ("docker.io/python", "docker.io", "library/python", "latest", None),
        ("index.docker.io/library/python:3", "docker.io", "library/python", "3", None),
        ("registry-1.docker.io/org/app:v1", "docker.io", "org/app", "v1", None),
        ("ghcr.io/org/app:v1", "ghcr.io", "org/app", "v1", None),
        ("GHCR.io/org/app", "ghcr.io", "org/app", "latest", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/a/b/c:1.0", "localhost:5000", "a/b/c", "1.0", None),
        ("127.0.0.1:5000/sample/x", "127.0.0.1:5000", "sample/x", "latest", None),
        ("[::1]:5000/sample/x:2", "[::1]:5000", "sample/x", "2", None),
        (f"python@{DIGEST}", "docker.io", "library/python", None, DIGEST),
        (f"ghcr.io/o/a:1@{DIGEST}", "ghcr.io", "o/a", "1", DIGEST),
        ("my-org/my__app.x-y", "docker.io", "my-org/my__app.x-y", "latest", None),
    ],
)
def test_normalisation(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    name = parse_name(text)
    assert (name.registry, name.repository, name.tag, name.digest) == (registry, repository, tag, digest)
    assert name.reference == (digest or tag)


def test_docker_hub_api_host_and_loopback() -> None:
    assert parse_name("python").api_host == DOCKER_HUB_API
    assert parse_name("ghcr.io/a/b").api_host == "ghcr.io"
    assert parse_name("127.0.0.1:5000/a").is_loopback
    assert parse_name("localhost:5000/a").is_loopback
    assert parse_name("[::1]:5000/a").is_loopback
    assert not parse_name("ghcr.io/a").is_loopback
    assert str(parse_name("python:3")) == "docker.io/library/python:3"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Python", "lowercase"),
        ("ghcr.io/Org/app", "lowercase"),
        ("a//b", "invalid repository name component"),
        ("a/-b", "invalid repository name component"),
        ("app:-bad", "invalid tag"),
        ("app:" + "t" * 129, "invalid tag"),
        ("app@sha256:1234", "invalid digest"),
        ("ghcr.io/", "no repository"),
        ("bad_host.io:x/app", "invalid registry host"),
        ("x/" * 130 + "y", "longer than"),
    ],
)
def test_bad_names(text: str, why: str) -> None:
    with pytest.raises(BadReferenceError, match=why):
        parse_name(text)


def test_credentials_in_a_reference_are_refused_without_echo() -> None:
    with pytest.raises(BadReferenceError) as err:
        parse_name("alice:hunter2@registry.example/app:1")
    assert "hunter2" not in str(err.value) and "--password-stdin" in str(err.value)


@pytest.fixture(scope="module")
def ipv6_registry(registry_dir: Path) -> Iterator[Registry]:
    """A real registry listening on [::1] only (module scope: started before the per-test
    environment, whose REGISTRY_AUTH_FILE docker-registry would take as its own setting)."""
    try:
        registry = Registry(registry_dir / "ipv6", bind="[::1]")
    except RuntimeError as err:
        pytest.skip(f"no IPv6 loopback here: {str(err)[:200]}")
    yield registry
    registry.stop()


@pytest.mark.registry
def test_an_ipv6_literal_registry(ipv6_registry: Registry, run_cli: Any) -> None:
    """docker://[::1]:PORT/...: loopback, so plain HTTP without --insecure, as Docker does."""
    # skopeo refuses IPv6 literals in references: pushed through the distribution API instead
    blobs, index = sample_spec("ipv6").oci_blobs("gzip")
    manifest_digest = index["manifests"][0]["digest"]
    for digest, data in blobs.items():
        if digest != manifest_digest:
            put_blob(ipv6_registry.host, "sample/v6", data)
    put_manifest(ipv6_registry.host, "sample/v6", "1", json.loads(blobs[manifest_digest]))
    ref = f"docker://{ipv6_registry.host}/sample/v6:1"
    r = run_cli("inspect", "--json", "--no-cache", ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["reference"] == ref and len(doc["layers"]) == 3 and all(layer["files"] for layer in doc["layers"])
