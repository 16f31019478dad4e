"""Reading several layers at once: worker processes for local archives, threads otherwise.

The tar walk is Python and holds the GIL, so two threads walk no faster than one: on an
uncompressed docker save (no decoding to overlap) threads gain nothing, and on gzip
layers one thread's walk keeps the other's decoder waiting for the GIL. Forked workers
walk in parallel. A worker gets the image handle by inheritance (nothing to pickle),
reads one layer, writes its cache entry, and sends the record back in the cache's
compact encoding (marshal columns: a few ms per 50k files each way).

Processes are used only where forking is safe and pays: a local source (files we open
ourselves; no sockets, HTTP pools or engine clients to inherit), no other thread running
in this process (a lock held by one would stay locked in the child), enough bytes to
read, and the fork start method (Linux).
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from layerscope.layers.cache import decode_record, encode_record
from layerscope.model import LayerRecord

FORK_TRANSPORTS = frozenset({"docker-archive", "oci", "oci-archive"})
FORK_MIN_BYTES = 64 << 20  # below this a fork costs more than it saves

ReadOne = Callable[[int], LayerRecord]

# Jobs of the running process pools, by token: inherited by the forked workers.
_JOBS: dict[int, ReadOne] = {}
_tokens = itertools.count()


def can_fork(transport: str, parallel_safe: bool, total_bytes: int) -> bool:
    if transport not in FORK_TRANSPORTS or not parallel_safe or total_bytes < FORK_MIN_BYTES:
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return threading.active_count() == 1


def _in_worker(token: int, index: int) -> bytes:
    return encode_record(_JOBS[token](index))


def read_parallel(read: ReadOne, order: list[int], workers: int, processes: bool) -> Iterator[tuple[int, LayerRecord]]:
    """(index, record) for every index of `order`, read `workers` at a time, in `order`.

    `order` should put the largest layers first: the last layer to start then is a small one.
    """
    if not processes:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer") as pool:
            futures: dict[int, Future[Any]] = {i: pool.submit(read, i) for i in order}
            with _cancel_on_error(futures):
                for i in order:
                    yield i, futures[i].result()
        return
    token = next(_tokens)
    _JOBS[token] = read
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {i: pool.submit(_in_worker, token, i) for i in order}
            with _cancel_on_error(futures):
                for i in order:
                    yield i, decode_record(futures[i].result())
    finally:
        del _JOBS[token]


@contextmanager
def _cancel_on_error(futures: dict[int, Future[Any]]) -> Iterator[None]:
    """A failed layer fails the image: the layers not started yet are not read."""
    try:
        yield
    except BaseException:
        for f in futures.values():
            f.cancel()
        raise
