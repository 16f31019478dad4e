"""The Dask cluster a fleet run uses: one given by address, or a local one sized to the machine."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import dask
from distributed import Client, LocalCluster

from layerscope.errors import LayerscopeError, UsageError
from layerscope.layers.layercache import cache_root

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT = "20s"
# The whole check that the address answers as a Dask scheduler: connecting, the comm
# handshake and one `identity` round trip. Dask's own connect timeout does not bound a peer
# that accepts and then never answers (an HTTP server): the Client would wait for ever.
PREFLIGHT_SECONDS = 20.0
WORKER_PRELOAD = "layerscope.fleet.workerinit"


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
        check_scheduler(address)
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
            preload=[WORKER_PRELOAD],  # Ctrl-C is the command's to handle, not each worker's (workerinit.py)
        )
        try:
            client = Client(local, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
        finally:
            local.close()


def check_scheduler(address: str, seconds: float = PREFLIGHT_SECONDS) -> None:
    """A ClusterError (one line, exit 2) unless `address` answers as a Dask scheduler within
    `seconds`: a malformed address, nothing listening, a peer that is not Dask (whose first
    bytes Dask would read as a frame length of exabytes) or one that never answers."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as err:
        raise ClusterError(f"scheduler {address!r}: not a Dask address (tcp://HOST:PORT): {_line(err)}") from None
    # Its own loop on its own thread: the caller may be inside one (a notebook).
    with ThreadPoolExecutor(1) as pool:
        try:
            info = pool.submit(asyncio.run, _identity(address, seconds)).result()
        except TimeoutError:
            raise ClusterError(f"the Dask scheduler at {address} did not answer within {seconds:g} s") from None
        except OSError as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_line(err)}") from None
        except Exception as err:  # whatever a non-Dask peer makes the protocol raise
            raise ClusterError(f"{address} does not answer as a Dask scheduler ({_line(err)})") from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise ClusterError(f"{address} does not answer as a Dask scheduler")


async def _identity(address: str, seconds: float) -> Any:
    from distributed.comm.core import connect

    async def ask() -> Any:
        # Half the bound to connect (Dask retries a refused connection until then): nothing
        # listening is told as that, not as a peer that did not answer.
        comm = await connect(address, timeout=seconds / 2)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    return await asyncio.wait_for(ask(), seconds)


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
