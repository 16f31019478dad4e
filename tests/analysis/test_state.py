"""One stacked state per analysis (analysis/state.py): the tree the analysis stacked while
reading is the one every consumer gets, the attribution is worked out once, and copies,
saved and pickled analyses get the same answers."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

import layerscope
from layerscope.analysis import state
from layerscope.analysis.analyze import analyze_image
from layerscope.analysis.breakdown import all_waste, per_layer
from layerscope.analysis.feed import LayerFeed
from layerscope.analysis.filetree import stack
from layerscope.analysis.packages import package_report
from layerscope.analysis.packages.packagereport import package_files
from layerscope.analysis.pkgview import file_categories, layer_categories, report_of
from layerscope.analysis.serialize import load_saved_doc, saved_document
from tests.support.dists import dist
from tests.support.factory import ImageSpec, f, layer_tar, wh


@pytest.fixture
def analysis(tmp_path):
    layer0 = layer_tar([*dist("alpha", "1.0", {"alpha/__init__.py": b"a" * 1000}), f("app/main.py", b"m" * 50)])
    layer1 = layer_tar([*dist("beta", "2.0", {"beta/__init__.py": b"b" * 300}), wh("app/main.py")])
    path = ImageSpec([layer0, layer1]).docker_archive(str(tmp_path / "p.tar"))
    return layerscope.analyze(path, use_cache=False)


def _records(a):
    return [layer.record for layer in a.image.layers]


def test_the_tree_stacked_while_reading_is_the_one_consumers_get(analysis):
    feed = LayerFeed()
    for i, record in enumerate(_records(analysis)):
        feed(i, record)
    a = analyze_image(analysis.image, feed=feed)
    held = state.state_of(a)
    assert held is not None and held.tree is feed.tree
    assert state.tree_of(a) is feed.tree and state.state_of(a) is held


def test_the_attribution_is_worked_out_once_and_matches_a_fresh_one(analysis):
    held = state.state_of(analysis)
    assert held is not None
    records, config = _records(analysis), analysis.image.config
    assert held.package_report() is analysis.packages  # the report analyze_image made, kept
    assert analysis.packages == package_report(records, stack(records), config)
    files = held.package_files()
    assert files is held.package_files()
    assert files == package_files(records, stack(records), config)
    assert any(key[1] == "alpha" for key in files)
    split = held.split()
    assert held.split() is split
    assert layer_categories(analysis) is split[0] and file_categories(analysis) is split[1]
    totals = {c.name: c.bytes for c in analysis.packages.categories if c.bytes}
    summed: dict[str, int] = {}
    for cats in split[0].values():
        for name, n in cats.items():
            summed[name] = summed.get(name, 0) + n
    assert summed == totals  # the per-layer bars add up to the report's own totals


def test_copies_share_the_state_of_their_image(analysis):
    tree = state.tree_of(analysis)
    assert tree is not None
    copy = replace(analysis, packages=None)
    assert state.tree_of(copy) is tree  # same image: same tree
    assert report_of(copy) == analysis.packages  # worked out again from the shared tree
    other = replace(analysis, image=replace(analysis.image))
    other_tree = state.tree_of(other)
    assert other_tree is not None and other_tree is not tree  # another image: its own state
    assert other_tree.final_size == tree.final_size


def test_a_saved_analysis_stacks_once_on_first_use(analysis):
    loaded = load_saved_doc(saved_document(analysis, records=True), "test")
    assert loaded.derived.state is None
    tree = state.tree_of(loaded)
    assert tree is not None and state.tree_of(loaded) is tree
    assert per_layer(loaded) == per_layer(analysis)
    assert all_waste(loaded) == all_waste(analysis)
    assert loaded == analysis  # the state is not part of the data


def test_without_records_there_is_no_state(analysis):
    summary = load_saved_doc(saved_document(analysis, records=False), "test")
    assert state.state_of(summary) is None and state.tree_of(summary) is None
    assert per_layer(summary) is None and layer_categories(summary) is None
    assert report_of(summary) == analysis.packages  # the saved report itself


def test_a_pickled_analysis_leaves_its_state_behind(analysis):
    assert state.state_of(analysis) is not None
    copy = pickle.loads(pickle.dumps(analysis))
    assert copy == analysis and copy.derived.state is None
    assert per_layer(copy) == per_layer(analysis)
