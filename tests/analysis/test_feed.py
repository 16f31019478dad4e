"""Analysis that keeps pace with reading (analysis/feed.py) and dive's per-layer tally.

Layers fed in any order must give exactly what a whole-image pass gives; a layer without
whiteouts takes DiveTally's fast path, which must count what dive's tree walk counts.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.analysis.dive import DiveTally, _layer_tree, _leaves, dive_figures
from layerscope.analysis.feed import LayerFeed
from layerscope.analysis.filetree import stack
from layerscope.model import DIR, FILE, FileRecord, LayerRecord

_NAMES = st.sampled_from(["a", "b", "c", "d.txt", "lib"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=4).map("/".join)


@st.composite
def _layer(draw: st.DrawFn, whiteouts: bool) -> LayerRecord:
    files = tuple(
        FileRecord(p, draw(st.sampled_from([FILE, DIR])), draw(st.integers(0, 5000)), 0o644, 0, 0, 0)
        for p in draw(st.lists(_PATHS, max_size=12))
    )
    gone = tuple(draw(st.lists(_PATHS, max_size=3))) if whiteouts else ()
    opaque = tuple(draw(st.lists(_PATHS, max_size=2)))
    return LayerRecord(files, gone, opaque, sum(f.size for f in files), 0, 0, "none")


def _row(entry: int | list[int]) -> tuple[int, int, int]:
    """(minimum, cumulative, count) of a tally entry: a bare size is a key seen once."""
    return (entry, entry, 1) if isinstance(entry, int) else (entry[0], entry[1], entry[2])


def _tree_walk_tally(layer: LayerRecord) -> dict[str, tuple[int, int]]:
    """(size, count) per key of one whiteout-free layer, the way dive's tree walk finds them."""
    out: dict[str, tuple[int, int]] = {}
    for key, node, whiteout in _leaves(_layer_tree(layer)):
        assert not whiteout
        size, count = out.get(key, (0, 0))
        out[key] = (size + node.size, count + 1)
    return out


@settings(max_examples=300, deadline=None)
@given(_layer(whiteouts=False))
def test_fast_path_counts_the_leaves_of_the_tree_walk(layer: LayerRecord) -> None:
    tally = DiveTally()
    tally.add(layer)
    fast = {"/" + k: _row(e)[1:] for k, e in tally._entries.items()}
    assert fast == _tree_walk_tally(layer)


@settings(max_examples=200, deadline=None)
@given(st.lists(_layer(whiteouts=True), min_size=1, max_size=5), st.randoms())
def test_layers_fed_in_any_order_give_the_whole_image_figures(layers: list[LayerRecord], rnd: random.Random) -> None:
    feed = LayerFeed()
    order = list(range(len(layers)))
    rnd.shuffle(order)
    for i in order:
        feed(i, layers[i])
    assert feed.holds(layers)
    whole = stack(layers)
    assert feed.tree.nodes.keys() == whole.nodes.keys()
    assert feed.tree.final_size == whole.final_size
    assert sorted(feed.tree.dead, key=repr) == sorted(whole.dead, key=repr)
    assert feed.dive.figures() == dive_figures(layers)
    # The tally's running sums agree with a pass over its entries.
    rows = {k: _row(e) for k, e in feed.dive._entries.items()}
    assert feed.dive._minimum == sum(r[0] for r in rows.values())
    assert feed.dive._cumulative == sum(r[1] for r in rows.values())
    assert sorted(feed.dive._repeated) == sorted(k for k, r in rows.items() if r[2] >= 2)


def test_a_feed_missing_a_layer_does_not_hold_the_image() -> None:
    layer = LayerRecord((FileRecord("a", FILE, 1, 0o644, 0, 0, 0),), (), (), 1, 0, 0, "none")
    other = LayerRecord((FileRecord("b", FILE, 2, 0o644, 0, 0, 0),), (), (), 2, 0, 0, "none")
    feed = LayerFeed()
    feed(1, other)  # waits for layer 0
    assert feed.stacked == 0
    assert not feed.holds([layer, other])
    feed(0, layer)
    assert feed.stacked == 2 and feed.holds([layer, other])
    assert not feed.holds([layer, LayerRecord(other.files, (), (), 2, 0, 0, "none")])  # same data, another record
