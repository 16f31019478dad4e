"""Layers read by forked worker processes give exactly what one thread reads."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time

import pytest

from layerscope.api import open_image
from layerscope.errors import FormatError
from layerscope.layers.layercache import LayerCache
from layerscope.model import FILE, FileRecord, LayerRecord
from layerscope.sources import forkpool, parallel
from layerscope.sources.builder import build_image
from layerscope.sources.references import open_handle
from layerscope.sources.stores import TarStore
from tests.support.factory import ImageSpec, d, f, hard, layer_tar, sym, wh

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")


def _spec() -> ImageSpec:
    return ImageSpec(
        [
            layer_tar([d("usr"), f("usr/a", b"a" * 3000), f("var/lib/dpkg/status", b"Package: x\n\n")]),
            layer_tar([f("usr/b" + "x" * 120, b"b" * 70000), sym("usr/c", "a"), hard("usr/h", "usr/a")]),
            layer_tar([wh("usr/a"), f("big", os.urandom(200_000))]),
        ]
    )


@pytest.fixture
def always_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small images fork too, and threads other tests left behind (servers) are ignored."""
    monkeypatch.setattr(parallel, "FORK_MIN_BYTES", 0)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)


def _records(ref: str, workers: int, cache: LayerCache | None = None) -> list[object]:
    handle = open_handle(ref)
    try:
        return [layer.record for layer in build_image(handle, workers=workers, cache=cache).layers]
    finally:
        handle.close()


@pytest.mark.parametrize("kind", ["oci_archive", "docker_archive", "oci_dir"])
def test_processes_read_what_one_thread_reads(tmp_path, always_fork, kind):
    ref = getattr(_spec(), kind)(str(tmp_path / "img"))
    assert parallel.can_fork("oci-archive", True, 1)
    assert _records(ref, workers=2) == _records(ref, workers=1)


def test_workers_fill_the_cache_and_the_next_read_hits(tmp_path, always_fork):
    ref = _spec().oci_archive(str(tmp_path / "img.tar"))
    cache = LayerCache(str(tmp_path / "cache"))
    cold = _records(ref, workers=2, cache=cache)
    assert cache.stats().entries == 6  # written by the workers: by blob digest and by file identity
    warm_cache = LayerCache(str(tmp_path / "cache"))
    assert _records(ref, workers=2, cache=warm_cache) == cold
    assert (warm_cache.hits, warm_cache.misses) == (3, 0)  # by file identity


def test_an_error_in_a_worker_is_the_same_one_line_error(tmp_path, always_fork):
    spec = _spec()
    spec.layers[1] = spec.layers[1][:700]  # a cut tar: the header of its second entry is partial
    ref = spec.oci_archive(str(tmp_path / "img.tar"))
    with pytest.raises(FormatError) as one:
        _records(ref, workers=1)
    with pytest.raises(FormatError) as two:
        _records(ref, workers=2)
    assert str(one.value) == str(two.value)


def test_no_fork_for_remote_sources_small_images_or_with_other_threads():
    assert not parallel.can_fork("docker", True, 1 << 40)
    assert not parallel.can_fork("docker-daemon", False, 1 << 40)
    assert not parallel.can_fork("oci-archive", True, 1000)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not parallel.can_fork("oci-archive", True, 1 << 40)
    finally:
        stop.set()
        other.join()


def test_open_image_uses_processes_for_large_local_archives(tmp_path, always_fork, monkeypatch):
    calls: list[bool] = []
    real = parallel.read_parallel

    def spy(read, order, workers, processes, after=None):  # type: ignore[no-untyped-def]
        calls.append(processes)
        return real(read, order, workers, processes, after)

    monkeypatch.setattr("layerscope.sources.builder.read_parallel", spy)
    ref = _spec().docker_archive(str(tmp_path / "img.tar"))
    img = open_image(ref, use_cache=False)
    assert calls == [True] and len(img.layers) == 3
    # The workers wrote the cache entries (by file identity: this fast path hashes nothing)
    # after handing the records over.
    cache = LayerCache()
    assert _records(ref, workers=2, cache=cache) == [layer.record for layer in img.layers]
    assert (cache.hits, cache.misses) == (3, 0)


def test_a_worker_killed_midway_is_an_error_not_a_hang(tmp_path, always_fork, monkeypatch):
    ref = _spec().oci_archive(str(tmp_path / "img.tar"))
    real = forkpool.encode_record

    def die(record):  # type: ignore[no-untyped-def]
        if record.whiteouts:  # the third layer: as if the kernel killed the worker
            os._exit(9)
        return real(record)

    monkeypatch.setattr(forkpool, "encode_record", die)
    with pytest.raises(RuntimeError, match=r"ended without its result \(exit codes .*9"):
        _records(ref, workers=2)


def _tiny(i: int) -> LayerRecord:
    return LayerRecord((FileRecord(f"f{i}", FILE, i, 0o644, 0, 0, 0),), (), (), i, 0, 0, "none")


def _children() -> set[str]:
    """This process's child pids, running or not yet reaped (Linux)."""
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return set(fh.read().split())


def test_fork_pool_hands_back_every_layer_and_reaps_its_workers():
    before = _children()
    got = dict(forkpool.fork_read(_tiny, None, [3, 1, 2, 0], 2))
    assert got == {i: _tiny(i) for i in range(4)}
    assert _children() == before


def test_an_abandoned_fork_pool_kills_and_reaps_its_workers():
    def slow(i: int) -> LayerRecord:
        if i:
            time.sleep(30)  # would hold the test up if the worker were waited for
        return _tiny(i)

    before, started = _children(), time.monotonic()
    reading = forkpool.fork_read(slow, None, [0, 1, 2], 2)
    assert next(reading) == (0, _tiny(0))
    reading.close()
    assert time.monotonic() - started < 10 and _children() == before


class _Unpicklable(Exception):
    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("no pickling here")


def test_an_exception_that_does_not_pickle_arrives_as_its_text():
    def fail(i: int) -> LayerRecord:
        raise _Unpicklable("layer 7 is odd")

    before = _children()
    with pytest.raises(RuntimeError, match="_Unpicklable: layer 7 is odd"):
        list(forkpool.fork_read(fail, None, [0], 1))
    assert _children() == before


def test_a_failing_after_hook_does_not_lose_the_record():
    def after(i: int, record: LayerRecord) -> None:
        raise OSError("cache disk full")

    assert dict(forkpool.fork_read(_tiny, after, [0, 1], 2)) == {0: _tiny(0), 1: _tiny(1)}


def test_an_archive_that_shrinks_under_a_worker_is_a_format_error(tmp_path):
    """A mapped member whose file is cut meanwhile: the kernel ends the worker with SIGBUS."""
    path = str(tmp_path / "img.tar")
    _spec().docker_archive(path)
    store = TarStore(path)
    member = next(n for n in store.names() if n.endswith(".tar") or "blobs" in n)

    def read(i: int) -> LayerRecord:
        # in the worker: the SIGBUS is expected, and pytest's faulthandler would print it as a fatal error
        faulthandler.disable()
        window, start = store.open(member).map_window(0, 1 << 20)  # type: ignore[attr-defined]
        os.truncate(path, 0)
        window[start + 100]  # past the end of the file now
        raise AssertionError("the mapping outlived the file")

    before = _children()
    with pytest.raises(FormatError, match="changed while it was being read"):
        list(forkpool.fork_read(read, None, [0], 1))
    assert _children() == before


def test_members_are_mapped_only_in_forked_workers(tmp_path):
    path = str(tmp_path / "img.tar")
    _spec().docker_archive(path)
    store = TarStore(path)
    member = next(n for n in store.names() if n.endswith(".tar") or "blobs" in n)
    assert store.open(member).map_window is None  # type: ignore[attr-defined]

    def mapped(i: int) -> LayerRecord:
        assert store.open(member).map_window is not None  # type: ignore[attr-defined]
        return _tiny(i)

    assert dict(forkpool.fork_read(mapped, None, [0], 1)) == {0: _tiny(0)}


def test_threads_report_the_lowest_failing_layer_whichever_fails_first():
    def read(i: int) -> LayerRecord:
        if i == 0:
            time.sleep(0.3)  # fails last
        raise FormatError(f"layer {i} is broken")

    for _ in range(3):
        with pytest.raises(FormatError, match="layer 0 is broken"):
            list(parallel.read_parallel(read, [1, 0], 2, processes=False))


def test_forked_workers_report_the_lowest_failing_layer_whichever_fails_first():
    def read(i: int) -> LayerRecord:
        if i == 0:
            time.sleep(0.3)  # fails last
        if i in (0, 1):
            raise FormatError(f"layer {i} is broken")
        return _tiny(i)

    before = _children()
    with pytest.raises(FormatError, match="layer 0 is broken"):
        list(forkpool.fork_read(read, None, [1, 2, 0], 2))
    assert _children() == before
