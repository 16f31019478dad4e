"""Reading several layers at once: worker processes for local archives, threads otherwise.

The tar walk is Python and holds the GIL, so two threads walk no faster than one: on an
uncompressed docker save (no decoding to overlap) threads gain nothing, and on gzip
layers one thread's walk keeps the other's decoder waiting for the GIL. Forked workers
(forkpool.py) walk in parallel. A worker gets the image handle by inheritance (nothing is
pickled), reads one layer, sends the record back in the cache's compact encoding (marshal
columns: a few ms per 50k files each way), then writes its cache entry.

Processes are used only where forking is safe and pays: a local source (files we open
ourselves; no sockets, HTTP pools or engine clients to inherit), no other thread running
in this process (a lock held by one would stay locked in the child), enough bytes to
read, and Linux (on macOS a fork after system frameworks load is unsafe).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from layerscope.model import LayerRecord
from layerscope.sources.references import FORK_TRANSPORTS

if TYPE_CHECKING:
    from concurrent.futures import Future

FORK_MIN_BYTES = 64 << 20  # below this a fork costs more than it saves

ReadOne = Callable[[int], LayerRecord]
AfterOne = Callable[[int, LayerRecord], None]


def can_fork(transport: str, parallel_safe: bool, total_bytes: int) -> bool:
    if transport not in FORK_TRANSPORTS or not parallel_safe or total_bytes < FORK_MIN_BYTES:
        return False
    if not sys.platform.startswith("linux"):  # macOS: forking after system frameworks load is unsafe
        return False
    return threading.active_count() == 1


def read_parallel(
    read: ReadOne, order: list[int], workers: int, processes: bool, after: AfterOne | None = None
) -> Iterator[tuple[int, LayerRecord]]:
    """(index, record) for every index of `order`, read `workers` at a time; `after(index,
    record)` is called where the record was read, once it is handed over.

    Workers take the layers in `order` (schedule.py chooses it); records are yielded as
    layers finish.
    """
    from layerscope.sources.forkpool import MAX_TASKS, fork_read

    if not processes or len(order) + workers > MAX_TASKS:
        # Imported here: it costs ~5 ms at startup, and a run with processes does not need it.
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer") as pool:
            futures: dict[Future[LayerRecord], int] = {pool.submit(read, i): i for i in order}
            with _cancel_on_error(futures):
                for future in as_completed(futures):
                    if future.exception() is not None:
                        _raise_lowest(futures, future)
                    i, record = futures[future], future.result()
                    if after is not None:  # the cache write queues behind the reads left
                        pool.submit(after, i, record)
                    yield i, record
        return
    # Workers pull their next layer from a pipe themselves: nothing waits for this process
    # (busy stacking the layers that came in) to hand out work.
    # A receiving thread re-takes the GIL after every pipe read; by default it would wait up
    # to 5 ms each time for the stacking thread, and a worker with a large record waits too.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 1e-4))
    try:
        yield from fork_read(read, after, order, workers)
    finally:
        sys.setswitchinterval(interval)


def _raise_lowest(futures: dict[Future[LayerRecord], int], failed: Future[LayerRecord]) -> None:
    """Layer k failed: the layers above it are dropped, those below it are still read, and
    the lowest failing layer is reported: the same error on every run, whichever failed first."""
    k = futures[failed]
    for f, i in futures.items():
        if i > k:
            f.cancel()
    below = sorted((i, f) for f, i in futures.items() if i < k)
    for _i, f in below:
        if not f.cancelled() and f.exception() is not None:
            raise f.exception()  # type: ignore[misc]
    raise failed.exception()  # type: ignore[misc]


@contextmanager
def _cancel_on_error(futures: dict[Future[LayerRecord], int]) -> Iterator[None]:
    """A failed layer fails the image: the layers not started yet are not read."""
    try:
        yield
    except BaseException:
        for f in futures:
            f.cancel()
        raise
