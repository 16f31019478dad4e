"""Reading several layers at once: worker processes for local archives, threads otherwise.

The tar walk is Python and holds the GIL, so two threads walk no faster than one: on an
uncompressed docker save (no decoding to overlap) threads gain nothing, and on gzip
layers one thread's walk keeps the other's decoder waiting for the GIL. Forked workers
walk in parallel. A worker gets the image handle by inheritance (nothing is pickled),
reads one layer, writes its cache entry, and sends the record back in the cache's
compact encoding (marshal columns: a few ms per 50k files each way).

Processes are used only where forking is safe and pays: a local source (files we open
ourselves; no sockets, HTTP pools or engine clients to inherit), no other thread running
in this process (a lock held by one would stay locked in the child), enough bytes to
read, and Linux (on macOS a fork after system frameworks load is unsafe).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from layerscope.layers.cache import decode_record, encode_record
from layerscope.model import LayerRecord

if TYPE_CHECKING:
    from concurrent.futures import Future

FORK_TRANSPORTS = frozenset({"docker-archive", "oci", "oci-archive"})
FORK_MIN_BYTES = 64 << 20  # below this a fork costs more than it saves

ReadOne = Callable[[int], LayerRecord]
AfterOne = Callable[[int, LayerRecord], None]


def can_fork(transport: str, parallel_safe: bool, total_bytes: int) -> bool:
    if transport not in FORK_TRANSPORTS or not parallel_safe or total_bytes < FORK_MIN_BYTES:
        return False
    if not sys.platform.startswith("linux"):  # macOS: forking after system frameworks load is unsafe
        return False
    return threading.active_count() == 1


def _worker(read: ReadOne, after: AfterOne | None, tasks: Any, results: Any) -> None:
    """A forked worker: takes layer indices until the None at the end, sends back records.

    Forked, it has `read` (and the image handle it closes over) without any pickling.
    `after` (the cache write) runs once the record is on its way: the parent, which
    stacks the layers, is the one waiting."""
    while (i := tasks.get()) is not None:
        try:
            record = read(i)
        except BaseException as err:  # the parent raises it, the rest of the work is dropped
            try:
                results.put((i, False, err))
            except Exception:  # an exception that does not pickle: its text then
                results.put((i, False, RuntimeError(f"{type(err).__name__}: {err}")))
            return
        results.put((i, True, encode_record(record)))
        if after is not None:
            with contextlib.suppress(Exception):  # the cache is best effort; the record is sent
                after(i, record)


def read_parallel(
    read: ReadOne, order: list[int], workers: int, processes: bool, after: AfterOne | None = None
) -> Iterator[tuple[int, LayerRecord]]:
    """(index, record) for every index of `order`, read `workers` at a time; `after(index,
    record)` is called where the record was read, once it is handed over.

    `order` should put the largest layers first: the last layer to start then is a small one.
    Threads yield in `order`; processes as layers finish.
    """
    # Imported here: each costs ~5 ms at startup, and a run needs only one of them.
    if not processes:
        from concurrent.futures import ThreadPoolExecutor

        def read_then(i: int) -> LayerRecord:
            record = read(i)
            if after is not None:
                after(i, record)
            return record

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer") as pool:
            futures: dict[int, Future[Any]] = {i: pool.submit(read_then, i) for i in order}
            with _cancel_on_error(futures):
                for i in order:
                    yield i, futures[i].result()
        return
    # Workers pull their next layer from a queue themselves: nothing waits for this
    # process (busy decoding records, holding its GIL) to hand out work.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    tasks, results = ctx.SimpleQueue(), ctx.SimpleQueue()
    for i in order:
        tasks.put(i)
    for _ in range(workers):
        tasks.put(None)
    procs = [ctx.Process(target=_worker, args=(read, after, tasks, results), daemon=True) for _ in range(workers)]
    # A receiving thread takes each result off the pipe at once: a worker writing a large
    # record would otherwise wait until this thread had decoded the one before.
    inbox: queue.SimpleQueue[tuple[int, bool, Any]] = queue.SimpleQueue()

    def receive() -> None:
        try:
            for _ in order:
                item = _next_result(results, procs)
                inbox.put(item)
                if not item[1]:
                    return
        except BaseException as err:
            inbox.put((-1, False, err))

    receiver = threading.Thread(target=receive, name="layer-results", daemon=True)
    # The receiver re-takes the GIL after every pipe read; by default it would wait up to
    # 5 ms each time for the decoding thread, and a worker with a large record waits too.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 1e-4))
    complete = False
    try:
        for p in procs:
            p.start()
        receiver.start()
        for _ in order:
            i, ok, payload = inbox.get()
            if not ok:
                raise payload
            yield i, decode_record(payload)
        complete = True
    finally:
        for p in procs:
            # Done: a worker may still be writing its last cache entry, and ends by itself.
            # Failed or abandoned: the work left is not wanted.
            if p.is_alive() and not complete:
                p.terminate()
            p.join()
        if receiver.is_alive():
            receiver.join()
        sys.setswitchinterval(interval)
        tasks.close()
        results.close()


def _next_result(results: Any, procs: list[Any]) -> tuple[int, bool, Any]:
    """The next result; a worker killed meanwhile (OOM, a signal) is an error, not a hang."""
    while not results._reader.poll(0.05):  # SimpleQueue's read end
        if any(p.exitcode not in (None, 0) for p in procs) or all(p.exitcode == 0 for p in procs):
            if results._reader.poll():
                break
            codes = ", ".join(str(p.exitcode) for p in procs)
            raise RuntimeError(f"a layer-reading worker process ended without its result (exit codes {codes})")
    result: tuple[int, bool, Any] = results.get()
    return result


@contextmanager
def _cancel_on_error(futures: dict[int, Future[Any]]) -> Iterator[None]:
    """A failed layer fails the image: the layers not started yet are not read."""
    try:
        yield
    except BaseException:
        for f in futures.values():
            f.cancel()
        raise
