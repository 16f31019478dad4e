"""The Dask cluster a fleet run uses: one given by address, or a local one sized to the machine."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster

from layerscope.errors import LayerscopeError, UsageError
from layerscope.layers.cache import cache_root

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT = "20s"


class ClusterError(LayerscopeError):
    kind = "cluster"


@contextmanager
def cluster(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client on `scheduler` (or $DASK_SCHEDULER_ADDRESS), else on an in-process
    LocalCluster of `workers` worker processes (default: one per CPU), one thread each:
    walking a layer is CPU work, and processes keep it off one interpreter lock."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    if address:
        if workers is not None:
            raise UsageError("--workers sizes the local cluster; an existing cluster (--scheduler) has its own")
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_line(err)}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    # The scheduler's and workers' scratch space (locks, spilled data) goes in layerscope's cache
    # dir, the one place a run writes unasked, not in $TMPDIR or the working directory.
    scratch = os.path.join(cache_root(), "dask-scratch")
    with dask.config.set({"temporary-directory": scratch}):
        local = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # loopback only: nothing else needs to reach an in-process cluster
            dashboard_address="127.0.0.1:0",  # any free port (8787 may be taken); served only with bokeh installed
            silence_logs=logging.ERROR,
            local_directory=scratch,
        )
        try:
            client = Client(local, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            local.close()


def dashboard(client: Client) -> str | None:
    """The dashboard's address, when the scheduler serves one (an in-process cluster serves
    its pages only with bokeh installed)."""
    if client.cluster is not None and importlib.util.find_spec("bokeh") is None:
        return None
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:
        return None
    if "dashboard" not in services:
        return None
    link = client.dashboard_link
    return str(link) if link else None


def _line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]
