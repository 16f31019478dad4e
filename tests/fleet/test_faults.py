"""Faults: a worker killed mid-run, a registry answering 429/503, a cache that already holds layers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from layerscope.fleet import runner
from layerscope.fleet.listener import Listener
from layerscope.fleet.records import LayerStats, Settings
from layerscope.fleet.tables import FleetTables
from layerscope.fleet.targets import collect
from tests.fleet.workercache import held_by_workers
from tests.support.daskcluster import REPO, DaskCluster, dask_missing
from tests.support.fleetimages import Fleet
from tests.support.registry import FaultProxy, Registry, Rule

pytestmark = pytest.mark.registry


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    """A cluster of its own (the test kills one of its workers), with an empty layer cache."""
    why = dask_missing()
    if why:
        pytest.skip(f"fleet tests need a real Dask cluster: {why}")
    cluster = DaskCluster(tmp_path / "dask")
    yield cluster
    cluster.stop()


class KillAfter(Listener):
    def __init__(self, cluster: DaskCluster, layers: int) -> None:
        self.cluster, self.layers, self.seen, self.killed_at = cluster, layers, 0, -1

    def layer(self, stats: LayerStats) -> None:
        self.seen += 1
        if self.seen == self.layers:
            self.cluster.kill_worker(0)
            self.killed_at = self.seen


def test_a_worker_killed_mid_run_changes_nothing(
    fleet: Fleet, fleet_run: FleetTables, own_cluster: DaskCluster
) -> None:
    refs = list(fleet_run.images["reference"])
    killer = KillAfter(own_cluster, 3)
    result = runner.run(collect(refs), Settings(), runner.Cluster(own_cluster.address), listener=killer)
    assert killer.killed_at == 3 and own_cluster.worker_procs[0].poll() is not None
    assert killer.seen == fleet_run.totals.unique_layers + 1  # the broken image's blob has stats too
    assert result.images.equals(fleet_run.images)
    keep = ["digest", "diff_id", "size", "compressed_size", "files", "images"]
    assert result.layers[keep].equals(fleet_run.layers[keep])
    assert result.packages.equals(fleet_run.packages)
    # The dead worker's finished reads are in the shared cache: the survivor reads only the rest.
    assert result.totals.blobs_read <= result.totals.unique_layers
    digests = list(result.layers["digest"])
    held = held_by_workers(own_cluster.address, digests)  # asked of the workers (workercache.py says why)
    assert list(held.values()) == [digests]  # the one survivor: the killed worker is gone from the cluster


def test_registry_429_and_503_are_retried(
    fleet: Fleet, fleet_registry: Registry, dask_cluster: DaskCluster, fleet_run: FleetTables
) -> None:
    proxy = FaultProxy(f"http://{fleet_registry.host}")
    try:
        blobs = proxy.add(Rule("/blobs/sha256", "status", times=3, status=503, method="GET"))
        manifests = proxy.add(Rule("/manifests/", "status", times=2, status=429, retry_after="0"))
        samples = [i for i in fleet.images if i.repository.startswith("samples/")]
        refs = [i.ref(proxy.host) for i in samples]
        # use_cache=False: the session's workers already hold these layers; make them download.
        result = runner.run(collect(refs), Settings(use_cache=False), runner.Cluster(dask_cluster.address))
    finally:
        proxy.close()
    assert blobs.hits == 3 and manifests.hits == 2
    assert result.totals.failed_images == 0
    direct = {i.ref(proxy.host): i.ref(fleet.host) for i in samples}
    columns = ["size", "compressed_size", "final_size", "wasted_bytes"]
    want = fleet_run.images.set_index("reference").loc[list(direct.values()), columns]
    got = result.images.set_index("reference")[columns]
    got.index = [direct[r] for r in got.index]
    assert got.sort_index().equals(want.sort_index())


def test_a_second_run_reads_only_new_layers(fleet: Fleet, dask_cluster: DaskCluster, fleet_run: FleetTables) -> None:
    """Layers dropped from the workers' cache are read again; the others are not."""
    agent = [i.ref(fleet.host) for i in fleet.images if i.repository == "apps/agent"][:2]
    first = runner.run(collect(agent), Settings(), runner.Cluster(dask_cluster.address))
    assert first.totals.blobs_read == 0
    top = first.layers[first.layers["images"] == 1]  # each tag's own app layer
    for digest in top["digest"]:  # entries are by blob digest (docs/cache-keys.md)
        _alg, _, hexpart = digest.partition(":")
        for path in Path(dask_cluster.cache_dir).rglob(hexpart + ".zst"):
            path.unlink()
    again = runner.run(collect(agent), Settings(), runner.Cluster(dask_cluster.address))
    assert again.totals.blobs_read == len(top) == 2
    assert again.images.equals(first.images)


def test_the_command_survives_a_killed_worker_quietly(
    fleet: Fleet, fleet_run: FleetTables, own_cluster: DaskCluster, tmp_path: Path
) -> None:
    """`fleet --json` as a user runs it, a worker SIGKILLed once it has written a few layers:
    exit 0, the same rows, and nothing on stderr (Dask's rescheduling warning included)."""
    refs = list(fleet_run.images["reference"])
    listing = tmp_path / "refs.txt"
    listing.write_text("\n".join(refs) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAYERSCOPE_CACHE_DIR": str(tmp_path / "client-cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerscope", "fleet", "--from-file", str(listing), "--json",
         "--scheduler", own_cluster.address],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while len(list(Path(own_cluster.cache_dir).rglob("*.zst"))) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before a worker could be killed"
            time.sleep(0.05)
        own_cluster.kill_worker(0)
        assert proc.poll() is None  # killed mid-run
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert err == b""
    doc = json.loads(out)
    want = fleet_run.images.astype(object).where(fleet_run.images.notna(), None).to_dict(orient="records")
    assert doc["images"] == want


def test_an_erred_task_is_told_by_its_exception() -> None:
    """as_completed(raise_errors=False) hands over an erred future as (type, exception,
    traceback): rows said 'unexpected task result tuple'. A KilledWorker (a worker with too
    little memory, restarted by its nanny until Dask gives up: seen with a 60 MB worker) says
    what happened in one line, without Dask's several sentences."""
    from distributed import KilledWorker

    from layerscope.fleet.graph import _failure

    try:
        raise ValueError("bad\nsecond line")
    except ValueError as err:
        assert _failure((ValueError, err, err.__traceback__)) == "ValueError: bad"
    killed = KilledWorker("resolve-abc-0", "tcp://127.0.0.1:1", 3)
    text = _failure((KilledWorker, killed, None))
    assert text.startswith("KilledWorker: every worker that ran this task died") and "\n" not in text
    assert _failure("x") == "unexpected task result str"
