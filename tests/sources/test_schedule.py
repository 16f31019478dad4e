"""The order parallel workers take layers in (sources/schedule.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from layerscope.sources.schedule import finish_time, layer_order


def test_a_dominant_layer_is_started_first():
    # base, apt, pip (huge), app: started last, the big layer would hold everything up.
    assert layer_order({0: 80, 1: 200, 2: 2000, 3: 5}, 2)[0] == 2


def test_layers_of_similar_size_go_bottom_up():
    # Largest first would leave the bottom layers, which stacking needs first, for later.
    assert layer_order({0: 171, 1: 172, 2: 167, 3: 164, 4: 170, 5: 145}, 2) == [0, 1, 2, 3, 4, 5]


def test_one_worker_reads_bottom_up():
    assert layer_order({0: 1, 1: 50, 2: 7}, 1) == [0, 1, 2]


def test_finish_time_counts_stacking_after_the_last_arrival():
    # One worker, layers 10 and 10: reading ends at 20, layer 1 is stacked after it.
    assert finish_time([0, 1], {0: 10, 1: 10}, 1) == 20 + 0.35 * 10


@given(st.dictionaries(st.integers(0, 40), st.integers(0, 10**9), min_size=1, max_size=40), st.integers(1, 8))
def test_the_order_is_every_layer_once_and_no_worse_than_either_plain_order(sizes, workers):
    order = layer_order(sizes, workers)
    assert sorted(order) == sorted(sizes)
    best = finish_time(order, sizes, workers)
    assert best <= finish_time(sorted(sizes), sizes, workers)
    assert best <= finish_time(sorted(sizes, key=lambda i: (-sizes[i], i)), sizes, workers)
