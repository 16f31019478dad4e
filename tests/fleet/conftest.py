"""Session fixtures of the fleet tests: a real docker-registry holding the test fleet
(tests/support/fleetimages.py), a real Dask scheduler with two workers (stopped by PID),
and one fleet run over it that several tests read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layerscope.fleet import runner
from layerscope.fleet.records import Settings
from layerscope.fleet.tables import FleetTables
from layerscope.fleet.targets import collect
from tests.support.daskcluster import DaskCluster, dask_missing
from tests.support.fleetimages import Fleet, build_fleet
from tests.support.registry import Registry, registry_dir, tls_registry

__all__ = ["registry_dir", "tls_registry"]


@pytest.fixture(scope="session")
def fleet_registry(registry_dir: Path) -> Iterator[Registry]:
    registry = Registry(registry_dir / "fleet")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def fleet(fleet_registry: Registry) -> Fleet:
    return build_fleet(fleet_registry.host)


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    why = dask_missing()
    if why:
        pytest.skip(f"fleet tests need a real Dask cluster: {why}")
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def fleet_run(fleet: Fleet, dask_cluster: DaskCluster) -> FleetTables:
    """The whole fleet, the broken image and a missing one, on the two workers. The cache is
    not read (other tests may have filled it), only written."""
    refs = [*fleet.refs(), fleet.broken[0].ref(fleet.host), f"docker://{fleet.host}/missing/image:1"]
    return runner.run(collect(refs), Settings(use_cache=False), runner.Cluster(dask_cluster.address))
