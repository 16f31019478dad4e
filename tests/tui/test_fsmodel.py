"""Per-layer file views from real layer records: statuses, what whiteouts hid, sizes, narrowing."""

from __future__ import annotations

import pytest

from layerscope.model import Analysis
from layerscope.tui.fsmodel import FsModel, Touch
from layerscope.tui.fsview import (
    ADDED,
    BY_SIZE,
    CHANGES,
    MODIFIED,
    REMOVED,
    STACKED,
    UNCHANGED,
    FsView,
    visible_paths,
)
from tests.tui.sample import SITE


@pytest.fixture
def model(sample: Analysis) -> FsModel:
    return FsModel([layer.record for layer in sample.image.layers])


def statuses(view: FsView) -> dict[str, str]:
    return {p: e.status for p, e in view.entries.items()}


def test_first_layer_adds_everything(model: FsModel) -> None:
    view = model.view(0, CHANGES)
    assert set(statuses(view).values()) == {ADDED}
    assert view.entries["usr/bin/python"].record.linkname == "python3"
    assert view.total == 2000 + 8 + 26 + 5000 + 8000


def test_changes_view_hangs_new_files_on_existing_directories(model: FsModel) -> None:
    st = statuses(model.view(1, CHANGES))
    assert st[f"{SITE}/numpy/core.so"] == ADDED
    assert st["usr/lib/python3"] == ADDED
    assert st["usr"] == st["usr/lib"] == st["root"] == UNCHANGED  # context from layer 0
    assert "bin/sh" not in st  # untouched paths are not part of a layer's changes


def test_whiteouts_opaque_dirs_and_modifications(model: FsModel) -> None:
    view = model.view(2, CHANGES)
    st = statuses(view)
    # a whiteout hides the directory and everything below it
    assert st["root/.cache"] == st["root/.cache/pip"] == st["root/.cache/pip/wheel-1.whl"] == REMOVED
    assert view.entries["root/.cache/pip/wheel-1.whl"].layer == 1  # where the hidden bytes came from
    assert st["etc/passwd"] == MODIFIED  # new content
    assert st["bin/sh"] == MODIFIED  # same content, new mode
    assert st["etc"] == UNCHANGED  # listed again with the same attributes
    # an opaque directory hides the old children; one written again is a modification
    assert st[f"{SITE}/requests/old.py"] == REMOVED
    assert st[f"{SITE}/requests/__init__.py"] == MODIFIED
    # removed bytes count in removed directories only, never in live ones
    assert view.size("root/.cache") == 9000
    assert view.size("root") == 0


def test_stacked_view_is_the_filesystem_plus_this_layers_removals(model: FsModel) -> None:
    view = model.view(2, STACKED)
    st = statuses(view)
    assert st["usr/bin/python3"] == UNCHANGED
    assert st["etc/passwd"] == MODIFIED
    assert st["root/.cache/pip/wheel-1.whl"] == REMOVED
    assert "app" not in st  # added only by layer 3
    live = 2000 + 8 + 56 + 5000 + 8000 + 3000 + 20000 + 600
    assert view.total == live
    assert view.size("usr") == 5000 + 8000 + 3000 + 20000 + 600
    assert "usr" in view.holds_changes and "app" not in view.holds_changes
    # going back up restacks from the bottom and gives the same answer
    assert statuses(model.view(0, STACKED)) == statuses(model.view(0, CHANGES))
    assert statuses(model.view(2, STACKED)) == st


def test_hardlinks_and_sizes_in_the_top_layer(model: FsModel, sample: Analysis) -> None:
    view = model.view(3, STACKED)
    assert view.total == sample.totals.final_size  # the same stacking inspect reports
    assert view.entries["app/run.py"].record.linkname == "app/main.py"
    assert view.size("app") == 120  # the hard link's header carries no bytes
    assert view.child_paths("", BY_SIZE)[0] == "usr"
    assert view.child_paths("") == ["app", "bin", "etc", "root", "usr"]


def test_which_layers_touched_a_path(model: FsModel) -> None:
    assert model.touches("etc/passwd") == [Touch(0, ADDED), Touch(2, MODIFIED)]
    assert model.touches("root/.cache/pip/wheel-1.whl") == [Touch(1, ADDED), Touch(2, REMOVED)]
    assert model.touches(f"{SITE}/requests/old.py") == [Touch(1, ADDED), Touch(2, REMOVED)]
    assert model.touches(f"{SITE}/requests/__init__.py") == [Touch(1, ADDED), Touch(2, MODIFIED)]
    assert model.touches("app/run.py") == [Touch(3, ADDED)]


def test_filter_and_only_changes_keep_matches_and_their_parents(model: FsModel) -> None:
    view = model.view(2, STACKED)
    assert visible_paths(view) is None
    hits = visible_paths(view, "NUMPY")
    assert hits == {"usr", "usr/lib", "usr/lib/python3", SITE, f"{SITE}/numpy"} | {
        f"{SITE}/numpy/__init__.py",
        f"{SITE}/numpy/core.so",
    }
    changed = visible_paths(view, only_changes=True)
    assert changed is not None
    assert "etc/passwd" in changed and "etc" in changed and "usr/bin/python3" not in changed
    both = visible_paths(view, "passwd", only_changes=True)
    assert both == {"etc", "etc/passwd"}
    assert visible_paths(view, "/etc/pass") == {"etc", "etc/passwd"}  # a leading slash matches too


def test_manifest_only_images_have_empty_views() -> None:
    model = FsModel([None, None])
    assert not model.available
    assert model.view(1, STACKED).entries == {}
    assert model.touches("etc/passwd") == []
