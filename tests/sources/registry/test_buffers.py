"""The large-blob path's buffers: the process budget, a download's ring (a buffer is filled
again only once every holder released it) and the hashing thread (every chunk hashed once,
in the order added)."""

from __future__ import annotations

import hashlib
import random
import threading

from hypothesis import given
from hypothesis import strategies as st

from layerscope.sources.registry.buffers import Budget, Hasher, Ring


def test_the_budget_gives_whole_shares_or_none() -> None:
    budget = Budget(20)
    assert budget.take(16) and budget.left == 4
    assert not budget.take(16) and budget.left == 4  # not enough left: nothing taken
    budget.give(16)
    assert budget.left == 20


def test_a_ring_makes_up_to_its_count_then_waits_for_one_given_back() -> None:
    ring, stop = Ring(2, 8), threading.Event()
    a, b = ring.take(stop), ring.take(stop)
    assert a is not None and b is not None and a is not b and len(a) == 8 and ring.made == 2
    ring.hold(memoryview(a)[:5], 1)
    got: list[bytearray | None] = []
    taker = threading.Thread(target=lambda: got.append(ring.take(stop)))
    taker.start()
    taker.join(0.3)
    assert taker.is_alive()  # both in use: it waits
    ring.release(memoryview(a)[:5])
    taker.join(5)
    assert got == [a] and ring.made == 2


def test_a_stopped_ring_hands_out_nothing() -> None:
    ring, stop = Ring(1, 8), threading.Event()
    assert ring.take(stop) is not None
    stop.set()
    assert ring.take(stop) is None


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=8), st.randoms())
def test_a_buffer_comes_back_once_after_its_last_holder(holders: list[int], rnd: random.Random) -> None:
    ring, stop = Ring(len(holders), 4), threading.Event()
    views = [memoryview(ring.take(stop)) for _ in holders]  # type: ignore[arg-type]
    for view, n in zip(views, holders, strict=True):
        ring.hold(view, n)
    releases = [i for i, n in enumerate(holders) for _ in range(n)]
    rnd.shuffle(releases)
    left = list(holders)
    for i in releases:
        assert ring._free.empty()  # nothing back before its last holder is done
        ring.release(views[i])
        left[i] -= 1
        if not left[i]:
            assert ring._free.get_nowait() is views[i].obj  # back at once, and only it
    assert ring._free.empty() and not ring.holders()


def test_the_hasher_hashes_every_chunk_once_in_order_and_reports_buffers_done() -> None:
    done: list[memoryview] = []
    h = hashlib.sha256()
    hasher = Hasher(h, done.append)
    bufs = [bytearray(bytes([i]) * 1000) for i in range(40)]  # more than its queue holds
    hasher.add(b"head")
    for b in bufs:
        hasher.add(memoryview(b))
    hasher.finish()
    hasher.finish()  # idempotent
    assert h.hexdigest() == hashlib.sha256(b"head" + b"".join(bufs)).hexdigest()
    assert [v.obj for v in done] == bufs  # the bytes chunk has no buffer to give back
    assert not hasher.thread.is_alive()
