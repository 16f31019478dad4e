"""`layerscope fleet` against a registry that speaks TLS with a self-signed certificate
(tests/support/registry.py), reached off loopback: read with --insecure, a clean
per-image failure without it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import CliResult
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import OCI_MANIFEST, read_sample, variant
from tests.support.pushimage import push
from tests.support.registry import Registry, outward_address

pytestmark = pytest.mark.registry
Cli = Callable[..., CliResult]


@dataclass(frozen=True)
class TlsImage:
    ref: str  # off loopback
    digest: str
    layers: list[str]


@pytest.fixture(scope="module")
def tls_slim(tls_registry: Registry) -> TlsImage:
    """The slim sample, pushed over HTTPS (the certificate unchecked by the pusher)."""
    blobs, manifest = variant(read_sample("slim"), [], "")
    digest = push(tls_registry.host, "fleet/slim", "1", blobs, manifest, OCI_MANIFEST, scheme="https")
    address = outward_address()
    assert address is not None  # the tls_registry fixture skips without one
    layers = [layer["digest"] for layer in json.loads(manifest)["layers"]]
    return TlsImage(f"docker://{address}:{tls_registry.port}/fleet/slim:1", digest, layers)


def test_insecure_profiles_the_image(
    tls_slim: TlsImage, dask_cluster: DaskCluster, run_cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = run_cli("fleet", tls_slim.ref, "--insecure", "--no-cache", "--json", "--scheduler", dask_cluster.address,
                "--output", str(out))  # fmt: skip
    assert r.code == 0, r.err
    image = json.loads(r.out)["images"][0]
    assert image["error"] is None, image["error"]
    assert image["reference"] == tls_slim.ref and image["digest"] == tls_slim.digest
    assert image["layers"] == len(tls_slim.layers) and image["size"] > 0
    layers = pq.read_table(out / "layers.parquet").to_pandas()
    assert sorted(layers["digest"]) == sorted(tls_slim.layers)


def test_without_insecure_the_image_fails_cleanly(tls_slim: TlsImage, dask_cluster: DaskCluster, run_cli: Cli) -> None:
    r = run_cli("fleet", tls_slim.ref, "--json", "--scheduler", dask_cluster.address)
    assert r.code == 2, r.err
    assert r.err == "layerscope: fleet: none of the 1 image(s) could be read (reasons above)\n"
    [image] = json.loads(r.out)["images"]
    assert image["reference"] == tls_slim.ref
    assert "cannot verify the TLS certificate" in image["error"] and "self-signed certificate" in image["error"]
    assert "--insecure" in image["error"] and "\n" not in image["error"]
