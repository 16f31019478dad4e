"""Forked worker processes that read layers and send the records back through pipes.

os.fork and pipes instead of multiprocessing: its import (sockets, pickling, logging) and
process start cost ~10 ms before the first layer is read, on a run that takes 0.4 s.
A worker inherits everything it needs (the image handle, the read function), so nothing is
pickled on the way there. Tasks are 4-byte layer indices in one pipe that every worker
reads from (reads this small are atomic); each worker sends its results through a pipe of
its own, framed as (index, ok, length) + payload: the record in the cache's compact
encoding, or the pickled exception.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

from layerscope.errors import FormatError
from layerscope.layers.layercache import decode_record, encode_record
from layerscope.model import LayerRecord
from layerscope.sources.stores import allow_mapping

ReadOne = Callable[[int], LayerRecord]
AfterOne = Callable[[int, LayerRecord], None]
_TASK = struct.Struct("<i")
_FRAME = struct.Struct("<iiQ")  # layer index, ok (1) or failed (0), payload length
_DONE = -1
# The tasks are written before the workers start: they must fit in the pipe's buffer
# (64 KiB on Linux; read_parallel uses threads for more layers than this).
MAX_TASKS = 4096


def fork_read(
    read: ReadOne,
    after: AfterOne | None,
    order: list[int],
    workers: int,
) -> Iterator[tuple[int, LayerRecord]]:
    """(index, record) for every index of `order`, as the forked workers finish them."""
    if len(order) + workers > MAX_TASKS:
        raise ValueError(f"too many layers for one task pipe: {len(order)}")
    task_r, task_w = os.pipe()
    os.write(task_w, b"".join(_TASK.pack(i) for i in [*order, *[_DONE] * workers]))
    os.close(task_w)
    children: list[tuple[int, int]] = []  # (pid, read end of its result pipe)
    try:
        for _ in range(workers):
            res_r, res_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                os.close(res_r)
                _work(read, after, task_r, res_w)
            os.close(res_w)
            children.append((pid, res_r))
    except BaseException:  # a fork failed (no memory, process limit): stop those started
        for pid, fd in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        raise
    finally:
        os.close(task_r)
    yield from _collect(children, order)


def _work(read: ReadOne, after: AfterOne | None, tasks: int, out: int) -> None:
    code = 0
    allow_mapping()  # archive members are walked in place here (see stores.allow_mapping)
    try:
        with os.fdopen(out, "wb") as pipe:
            while (i := _TASK.unpack(os.read(tasks, _TASK.size))[0]) != _DONE:
                try:
                    record = read(i)
                except BaseException as err:  # the parent raises it; this worker stops
                    _send(pipe, i, False, _pickled(err))
                    return
                _send(pipe, i, True, encode_record(record))
                if after is not None:
                    with contextlib.suppress(Exception):  # the cache is best effort; the record is sent
                        after(i, record)
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # none of the parent's cleanup runs here


def _send(pipe: Any, index: int, ok: bool, payload: bytes) -> None:
    pipe.write(_FRAME.pack(index, 1 if ok else 0, len(payload)))
    pipe.write(payload)
    pipe.flush()


def _pickled(err: BaseException) -> bytes:
    import pickle

    try:
        return pickle.dumps(err)
    except Exception:  # an exception that does not pickle: its text then
        return pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}"))


def _collect(children: list[tuple[int, int]], order: list[int]) -> Iterator[tuple[int, LayerRecord]]:
    # One thread per worker takes its results off the pipe at once: a worker writing a large
    # record would otherwise wait until this thread had stacked the one before.
    inbox: queue.SimpleQueue[tuple[int, int, bytes] | None] = queue.SimpleQueue()
    readers = [threading.Thread(target=_receive, args=(fd, inbox), daemon=True) for _, fd in children]
    status: dict[int, int] = {}  # pid -> wait status, once reaped
    # A failed layer stops the hand-over, but the layers below it are still read: the lowest
    # failing layer is the one reported, whichever worker failed first.
    failures: dict[int, bytes] = {}
    accounted: set[int] = set()
    complete = False
    try:
        for t in readers:
            t.start()
        ended = 0
        while len(accounted) < len(order):
            item = inbox.get()
            if item is None:  # a worker's pipe closed
                ended += 1
                if ended == len(children):
                    if failures:
                        _raise_pickled(failures[min(failures)])
                    _reap(children, status)
                    codes = [os.waitstatus_to_exitcode(status[pid]) for pid, _fd in children]
                    if -signal.SIGBUS in codes:  # a mapped member shrank under the worker
                        raise FormatError("the archive changed while it was being read (it is shorter now)")
                    shown = ", ".join(map(str, codes))
                    raise RuntimeError(f"a layer-reading worker process ended without its result (exit codes {shown})")
                continue
            index, ok, payload = item
            accounted.add(index)
            if not ok:
                failures[index] = payload
            if failures:
                lowest = min(failures)
                if all(i in accounted for i in order if i < lowest):
                    _raise_pickled(failures[lowest])
                continue
            yield index, decode_record(payload)
        complete = True
    finally:
        for pid, _fd in children:
            if not complete:  # failed or abandoned: the work left is not wanted
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _reap(children, status)  # done: a worker may still be writing its last cache entry
        for t in readers:
            t.join()


def _raise_pickled(payload: bytes) -> None:
    import pickle

    raise pickle.loads(payload)


def _receive(fd: int, inbox: queue.SimpleQueue[tuple[int, int, bytes] | None]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        while True:
            head = pipe.read(_FRAME.size)
            if len(head) < _FRAME.size:
                break
            index, ok, length = _FRAME.unpack(head)
            payload = pipe.read(length)
            if len(payload) < length:
                break
            inbox.put((index, ok, payload))
    inbox.put(None)


def _reap(children: list[tuple[int, int]], status: dict[int, int]) -> None:
    for pid, _fd in children:
        if pid not in status:
            status[pid] = os.waitpid(pid, 0)[1]
