"""A whole fleet run: images collected, read on the cluster, tables built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope.fleet import budgets
from layerscope.fleet.listener import Listener
from layerscope.fleet.records import Settings, Target
from layerscope.sources.platforms import Platform

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables


@dataclass(frozen=True, slots=True)
class Cluster:
    scheduler: str | None = None  # tcp://HOST:PORT; None: $DASK_SCHEDULER_ADDRESS, else a LocalCluster
    workers: int | None = None  # the LocalCluster's worker processes (default: one per CPU)


def run(
    targets: list[Target],
    settings: Settings,
    cluster: Cluster | None = None,
    config: str | None = None,
    listener: Listener | None = None,
    on_dashboard: Callable[[str], None] | None = None,
) -> FleetTables:
    if settings.platform:
        Platform.parse(settings.platform)  # a bad --platform is one usage error, not a row per image
    chooser = budgets.Chooser(budgets.load(config)) if config else None
    from layerscope.fleet import engine, graph, tables  # Dask, pandas: once the arguments are known to be good

    cluster = cluster or Cluster()
    with engine.cluster(cluster.scheduler, cluster.workers) as client:
        if on_dashboard is not None:
            link = engine.dashboard(client)
            if link:
                on_dashboard(link)
        outcome = graph.run(client, targets, settings, chooser, listener)
    return tables.build(outcome.images, outcome.layers)
