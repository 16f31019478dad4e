"""An image behind credentials: a row saying so without them; read with them (the
credentials travel to the workers with the run's settings)."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import layerscope
from tests.conftest import CliResult
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import OCI_MANIFEST, Fleet, app_layer, read_sample, variant
from tests.support.pushimage import push
from tests.support.registry import Registry

pytestmark = pytest.mark.registry
Cli = Callable[..., CliResult]
USER, PASSWORD = "fleet", "pw-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def private_registry(registry_dir: Path) -> Iterator[Registry]:
    work = registry_dir / "fleet-basic"
    work.mkdir()
    line = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, check=True).stdout
    (work / "htpasswd").write_bytes(line)
    registry = Registry(work, {"htpasswd": {"realm": "fleet", "path": str(work / "htpasswd")}})
    blobs, manifest = variant(read_sample("pip"), [app_layer("private")], "COPY app /srv/app")
    push(registry.host, "team/private", "1", blobs, manifest, OCI_MANIFEST, auth=(USER, PASSWORD))
    yield registry
    registry.stop()


def test_unauthorised_image_is_a_row_and_credentials_reach_the_workers(
    fleet: Fleet, private_registry: Registry, dask_cluster: DaskCluster
) -> None:
    private = f"docker://{private_registry.host}/team/private:1"
    public = fleet.images[0].ref(fleet.host)
    anonymous = layerscope.fleet([private, public], scheduler=dask_cluster.address, use_cache=False)
    rows = anonymous.images.set_index("reference")
    assert "requires authentication" in rows.loc[private]["error"]
    assert pd_isna(rows.loc[public]["error"])
    signed = layerscope.fleet([private], scheduler=dask_cluster.address, username=USER, password=PASSWORD)
    assert signed.totals.failed_images == 0
    single = layerscope.analyze(private, username=USER, password=PASSWORD)
    assert int(signed.images.iloc[0]["size"]) == single.totals.size
    assert PASSWORD not in repr(signed.images) and PASSWORD not in str(anonymous.images["error"].tolist())


def pd_isna(value: object) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def test_catalog_of_a_registry_behind_credentials(
    private_registry: Registry, dask_cluster: DaskCluster, run_cli: Cli
) -> None:
    """The catalog and tag listings authenticate as every other request does; without
    credentials the listing is refused in one line (exit 2)."""
    spec = f"docker://{private_registry.host}/team"
    r = run_cli("fleet", "--catalog", spec, "--scheduler", dask_cluster.address, "--json")
    assert r.code == 2 and r.out == "" and r.err.count("\n") == 1
    assert "authentication" in r.err and "Traceback" not in r.err
    r = run_cli("fleet", "--catalog", spec, "--scheduler", dask_cluster.address, "--json",
                "--username", USER, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [i["reference"] for i in doc["images"]] == [f"docker://{private_registry.host}/team/private:1"]
    assert doc["totals"]["failed_images"] == 0 and PASSWORD not in r.out + r.err
