"""Tags that name one manifest (aliases such as `latest` beside `1`, the same image mirrored
into another repository) are summarised once, on a real registry and Dask cluster; each
keeps its own reference and gets the same figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

from layerscope.fleet import runner
from layerscope.fleet.records import Settings
from layerscope.fleet.targets import collect
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import OCI_MANIFEST, read_sample, variant
from tests.support.pushimage import push
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


@pytest.fixture
def registry(registry_dir: Path) -> Iterator[Registry]:
    """A registry of its own (registry_dir skips without docker-registry): the shared fleet
    registry's catalog stays as the other tests know it."""
    registry = Registry(registry_dir / "aliases")
    yield registry
    registry.stop()


def test_aliases_of_one_manifest_are_summarised_once(registry: Registry, dask_cluster: DaskCluster) -> None:
    fat_blobs, fat = variant(read_sample("fat"), [], "")
    slim_blobs, slim = variant(read_sample("slim"), [], "")
    names = [("samples/fat", "1"), ("samples/fat", "latest"), ("mirror/fat", "1")]
    digests = {push(registry.host, r, t, fat_blobs, fat, OCI_MANIFEST) for r, t in names}
    assert len(digests) == 1  # one manifest under three names
    push(registry.host, "samples/slim", "1", slim_blobs, slim, OCI_MANIFEST)
    refs = [f"docker://{registry.host}/{r}:{t}" for r, t in [*names, ("samples/slim", "1")]]

    with Client(dask_cluster.address, timeout="20s", set_as_default=False) as client:
        client.get_task_stream()  # the scheduler records tasks from now on
        start = pd.Timestamp.now().timestamp()
        tables = runner.run(collect(refs), Settings(use_cache=False), runner.Cluster(dask_cluster.address))
        keys = [str(t["key"]) for t in client.get_task_stream(start=start)]
    summarised = [k for k in keys if k.startswith("image-")]
    assert len(summarised) == 2, summarised  # fat once for its three names, slim once

    rows = tables.images.set_index("reference")
    assert list(rows.index) == refs  # each row under its own reference, in the targets' order
    assert rows["error"].isna().all()
    figures = rows.drop(columns=[c for c in ("repository", "tag") if c in rows.columns])
    first = figures.loc[refs[0]]
    for ref in refs[1:3]:
        assert figures.loc[ref].equals(first), ref
    assert rows.loc[refs[0], "digest"] == digests.pop()
    assert not figures.loc[refs[3]].equals(first)
    packages = tables.packages
    mine = {ref: sorted(map(tuple, packages[packages["reference"] == ref][["name", "version", "bytes"]].values))
            for ref in refs[:3]}  # fmt: skip
    assert mine[refs[0]] and mine[refs[0]] == mine[refs[1]] == mine[refs[2]]
