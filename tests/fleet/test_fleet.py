"""A real fleet run: a docker-registry with 31 images, a Dask scheduler and two workers."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

import layerscope
from layerscope.errors import LayerscopeError
from layerscope.fleet.tables import FleetTables
from tests.fleet.workercache import held_by_workers
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import Fleet

pytestmark = pytest.mark.registry


def test_every_image_is_read_once_per_unique_blob(fleet: Fleet, fleet_run: FleetTables) -> None:
    t = fleet_run.totals
    assert len(fleet.images) >= 30
    assert t.images == len(fleet.images) + 2
    assert t.failed_images == 2
    layers = fleet_run.layers
    assert layers["digest"].is_unique
    # Each unique blob was read once: 4 samples' layers (fat and slim share their base) and
    # one generated layer per variant.
    variants = sum(1 for i in fleet.images if not i.repository.startswith("samples/"))
    assert t.unique_layers == 8 + 4 + 3 + 7 + variants
    assert t.blobs_read == t.unique_layers  # no blob read twice
    # Logical bytes count every image's layers; stored bytes each blob once.
    ok = fleet_run.images[fleet_run.images["error"].isna()]
    assert t.logical_bytes == int(ok["size"].sum())
    assert t.stored_bytes == int(layers["size"].sum())
    assert t.stored_bytes < t.logical_bytes / 5
    # The slim base layer is in every slim and fat image (and nothing else).
    users = Counter(i.base for i in fleet.images)
    assert int(layers["images"].max()) == users["slim"] + users["fat"]


def test_figures_equal_the_single_image_ones(fleet: Fleet, fleet_run: FleetTables) -> None:
    """Every image's sizes and package bytes are what `inspect`/`packages` say for it alone."""
    rows = fleet_run.images.set_index("reference")
    packages = fleet_run.packages
    for ref in fleet.refs():
        a = layerscope.analyze(ref)  # this process's own cache: read independently of the workers
        row = rows.loc[ref]
        assert pd.isna(row["error"])
        got = (row["size"], row["compressed_size"], row["final_size"], row["wasted_bytes"], row["layers"])
        want = (a.totals.size, a.totals.compressed_size, a.totals.final_size, a.totals.wasted_bytes,
                len(a.image.layers))  # fmt: skip
        assert got == want, ref
        assert row["digest"] == a.image.digest
        assert row["platform"] == a.image.platform
        assert a.packages is not None
        mine = packages[packages["reference"] == ref]
        assert sorted(zip(mine["ecosystem"], mine["name"], mine["version"], mine["bytes"], strict=True)) == sorted(
            (p.ecosystem, p.name, p.version, p.size) for p in a.packages.packages
        ), ref
        assert int(fleet_run.savings[fleet_run.savings["reference"] == ref]["bytes"].sum()) == sum(
            s.bytes for s in a.packages.savings
        )


def test_broken_and_missing_images_are_rows_with_one_line_reasons(fleet: Fleet, fleet_run: FleetTables) -> None:
    rows = fleet_run.images.set_index("reference")
    broken = rows.loc[fleet.broken[0].ref(fleet.host)]["error"]
    missing = rows.loc[f"docker://{fleet.host}/missing/image:1"]["error"]
    assert "\n" not in broken and "not a tar" in broken
    assert "not found" in missing and "missing/image" in missing
    for ref, error in ((fleet.broken[0].ref(fleet.host), broken), (f"docker://{fleet.host}/missing/image:1", missing)):
        with pytest.raises(LayerscopeError) as single:
            layerscope.analyze(ref)
        assert str(single.value) == error  # the reason `inspect` gives


def test_workers_fill_the_layer_cache_and_a_second_run_reads_nothing(
    fleet: Fleet, fleet_run: FleetTables, dask_cluster: DaskCluster
) -> None:
    digests = list(fleet_run.layers["digest"])
    held = held_by_workers(dask_cluster.address, digests)  # asked of the workers (workercache.py says why)
    assert list(held.values()) == [digests, digests]  # both workers share one cache dir
    again = layerscope.fleet(fleet.refs(), scheduler=dask_cluster.address)
    assert again.totals.blobs_read == 0
    assert again.totals.failed_images == 0
    same = fleet_run.images[fleet_run.images["error"].isna()].reset_index(drop=True)
    assert again.images.drop(columns=[]).equals(same)
