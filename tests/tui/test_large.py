"""A 100k-file image stays responsive: the tree mounts only what is opened, a page at a time.

Responsiveness is asserted on laziness (nodes created), never on timing; the timings live
in benchmarks/.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from layerscope import api
from layerscope.analysis.serialize import saved_document
from layerscope.tui import make_app
from layerscope.tui.screens.main import MainScreen
from layerscope.tui.widgets.files import FilesPane
from layerscope.tui.widgets.filetree import PAGE, FileTreeView
from tests.support.factory import ImageSpec, f, layer_tar, wh
from tests.tui.conftest import node_for, settle, shown

pytestmark = pytest.mark.anyio

DIRS, PER_DIR = 100, 1000  # 100,000 files


def hundred_thousand_files() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for i in range(DIRS):
            d = tarfile.TarInfo(f"data/d{i:03}")
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            t.addfile(d)
            for j in range(PER_DIR):
                ti = tarfile.TarInfo(f"data/d{i:03}/f{j:04}")
                ti.size = 1
                t.addfile(ti, io.BytesIO(b"x"))
    return buf.getvalue()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved analysis of the image, made with the factory and the real API."""
    directory = tmp_path_factory.mktemp("large")
    spec = ImageSpec([hundred_thousand_files(), layer_tar([wh("data/d001"), f("data/d002/f0000", "yy")])])
    archive = spec.docker_archive(str(directory / "large.tar"))
    analysis = api.analyze(f"docker-archive:{archive}")
    assert analysis.totals.files == DIRS * PER_DIR - PER_DIR
    path = directory / "large.json"
    path.write_text(json.dumps(saved_document(analysis)))
    return path


def tree_of(app: object) -> FileTreeView:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen)
    return screen.query_one(FilesPane).file_tree


async def test_opening_mounts_only_the_top_level(saved: Path) -> None:
    app = make_app(f"analysis:{saved}")
    async with app.run_test() as pilot:
        await settle(pilot)
        tree = tree_of(app)
        assert shown(tree) == ["data"]
        assert tree.count_nodes() == 1
        data = node_for(tree, "data")
        data.expand()
        await settle(pilot)
        assert tree.count_nodes() == 1 + DIRS
        d000 = node_for(tree, "data/d000")
        d000.expand()
        await settle(pilot)
        # a thousand children arrive a page at a time
        assert tree.count_nodes() == 1 + DIRS + PAGE + 1
        assert shown(tree)[2 + PAGE] == "<more data/d000>"  # after data, d000 and a page of files
        tree.focus()
        tree.move_cursor(node_for(tree, "data/d000/f0499").next_sibling)
        await pilot.press("enter")
        await settle(pilot)
        assert tree.count_nodes() == 1 + DIRS + PER_DIR
        assert "<more data/d000>" not in shown(tree)


async def test_filter_and_changes_on_a_large_tree_stay_small(saved: Path) -> None:
    app = make_app(f"analysis:{saved}")
    async with app.run_test() as pilot:
        await settle(pilot)
        tree = tree_of(app)
        await pilot.press("slash", *"f0999")
        await settle(pilot)
        paths = shown(tree)
        assert "data/d042/f0999" in paths
        assert tree.count_nodes() == 1 + DIRS + DIRS  # data, each directory, its one match
        await pilot.press("escape", "shift+tab", "down")  # layer 1: delete d001, rewrite one file
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "only changes" in str(app.screen.query_one("#files-bar").render())
        assert tree.view is not None and tree.view.entries["data/d001"].status == "removed"
        assert tree.count_nodes() < 1 + DIRS + 2 * PAGE
