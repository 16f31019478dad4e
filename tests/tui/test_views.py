"""Every view and binding of the main screen, driven with Textual's pilot like a person would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TabbedContent

from layerscope.model import Analysis
from layerscope.tui import make_app
from layerscope.tui.app import ExploreApp
from layerscope.tui.screens.help import HelpScreen
from layerscope.tui.screens.main import MainScreen
from layerscope.tui.widgets.files import FilesPane
from layerscope.tui.widgets.filetree import FileTreeView
from layerscope.tui.widgets.layers import LayersTable
from layerscope.tui.widgets.waste import WasteTable
from tests.tui.conftest import node_for, settle, shown
from tests.tui.sample import SITE

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def explore(sample: Analysis, size: tuple[int, int] = (80, 24)) -> AsyncIterator[tuple[ExploreApp, Pilot[None]]]:
    app = make_app("docker-archive:sample.tar", analysis=sample)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        yield app, pilot


def tree_of(app: ExploreApp) -> FileTreeView:
    return app.screen.query_one(FilesPane).file_tree


def bar(app: ExploreApp) -> str:
    return str(app.screen.query_one("#files-bar", Static).render())


def details(app: ExploreApp) -> str:
    return str(app.screen.query_one("#details", Static).render())


async def press(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


class TestLayers:
    async def test_selecting_a_layer_drives_the_tree_and_details(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            tree = tree_of(app)
            assert bar(app).startswith("Files: filesystem up to L0")
            assert "app" not in shown(tree)
            assert details(app).startswith("Layer 0")
            await press(pilot, "down", "down", "down")
            assert bar(app).startswith("Files: filesystem up to L3")
            assert shown(tree) == ["app", "bin", "etc", "root", "usr"]
            assert tree.view is not None and tree.view.entries["app"].status == "added"
            assert details(app).startswith("Layer 3")
            assert "COPY app/ /app/" in details(app)

    async def test_toggle_between_this_layers_changes_and_the_filesystem(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down", "down", "down")
            await press(pilot, "a")
            assert bar(app).startswith("Files: L3 changes")
            assert shown(tree_of(app)) == ["app"]
            await press(pilot, "a")
            assert bar(app).startswith("Files: filesystem up to L3")

    async def test_clicking_a_layer_selects_it(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            table = app.screen.query_one(LayersTable)
            await pilot.click(LayersTable, offset=(2, 3))  # the header, then rows 0, 1, 2
            await settle(pilot)
            assert table.cursor_row == 2
            assert bar(app).startswith("Files: filesystem up to L2")


class TestFiles:
    async def test_expand_collapse_and_details_of_a_file(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down", "down")  # layer 2: the cleanup
            await press(pilot, "tab")
            tree = tree_of(app)
            assert app.focused is tree
            await press(pilot, "down")  # etc
            await press(pilot, "enter")
            assert shown(tree)[:4] == ["bin", "etc", "etc/os-release", "etc/passwd"]
            await press(pilot, "down", "down")
            assert details(app).splitlines() == [
                "/etc/passwd",
                "-rw-r--r--  0:0  56 B  file  modified in L2",
                "touched by L0 added, L2 modified",
            ]
            await press(pilot, "up", "up", "space")  # collapse etc again
            assert "etc/passwd" not in shown(tree)

    async def test_marks_added_modified_removed_in_distinct_styles(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down", "down", "a")  # layer 2's own changes
            tree = tree_of(app)
            tree.reveal("root/.cache/pip/wheel-1.whl")
            tree.reveal("etc/passwd")
            await pilot.pause()
            styles = {
                status: tree.get_component_rich_style(f"filetree--{status}", partial=True)
                for status in ("added", "modified", "removed")
            }
            assert len({str(s) for s in styles.values()}) == 3
            plain = tree.rich_style
            removed_label = tree.render_label(node_for(tree, "root/.cache/pip/wheel-1.whl"), plain, plain)
            assert removed_label.plain.startswith("  - wheel-1.whl")
            assert any(span.style == styles["removed"] for span in removed_label.spans)
            modified_label = tree.render_label(node_for(tree, "etc/passwd"), plain, plain)
            assert modified_label.plain.startswith("  ~ passwd")
            assert any(span.style == styles["modified"] for span in modified_label.spans)

    async def test_slash_filters_by_path_and_escape_clears(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down")
            await press(pilot, "slash")
            box = app.screen.query_one("#filter", Input)
            assert app.focused is box
            await press(pilot, *"numpy")
            tree = tree_of(app)
            assert "filter 'numpy'" in bar(app)
            paths = shown(tree)
            assert f"{SITE}/numpy/core.so" in paths  # opened on its own to show the hits
            assert not [p for p in paths if "requests" in p or p.startswith(("bin", "etc"))]
            await press(pilot, "enter")
            assert app.focused is tree
            await press(pilot, "down", "down", "down", "down")  # usr → lib → python3 → site-packages → numpy
            await press(pilot, "escape")
            assert box.value == "" and "filter" not in bar(app)
            paths = shown(tree)
            assert {"bin", "etc", "root", "usr", "usr/bin", f"{SITE}/requests"} <= set(paths)
            cursor = tree.cursor_node
            assert cursor is not None and cursor.data is not None
            assert cursor.data.path == f"{SITE}/numpy"  # what you found stays open and under the cursor

    async def test_typing_in_the_filter_does_not_trigger_keys(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "slash", *"sacq")
            assert app.screen.query_one("#filter", Input).value == "sacq"
            assert isinstance(app.screen, MainScreen) and app.is_running
            assert "by name" in bar(app) and "only changes" not in bar(app)

    async def test_only_changes(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down", "down")
            await press(pilot, "c")
            assert "only changes" in bar(app)
            paths = shown(tree_of(app))
            assert "etc/passwd" in paths and "bin/sh" in paths and "root/.cache" in paths
            assert "etc/os-release" not in paths and "usr/bin/python3" not in paths
            await press(pilot, "c")
            assert "only changes" not in bar(app)

    async def test_sort_by_name_or_size(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "down", "down", "down")
            assert shown(tree_of(app)) == ["app", "bin", "etc", "root", "usr"]
            await press(pilot, "s")
            assert "by size" in bar(app)
            assert shown(tree_of(app)) == ["usr", "bin", "app", "etc", "root"]


class TestWaste:
    async def test_enter_jumps_to_the_layer_and_path_that_hid_the_bytes(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "2")
            tabs = app.screen.query_one(TabbedContent)
            assert tabs.active == "waste-tab"
            assert isinstance(app.focused, WasteTable)
            assert app.focused.row_count == len(sample.waste) == 5
            await press(pilot, "enter")  # the largest: pip's wheel cache, deleted by layer 2
            assert tabs.active == "layers-tab"
            assert app.screen.query_one(LayersTable).cursor_row == 2
            tree = tree_of(app)
            assert app.focused is tree
            node = tree.cursor_node
            assert node is not None and node.data is not None
            assert node.data.path == "root/.cache/pip/wheel-1.whl"
            assert details(app).startswith("/root/.cache/pip/wheel-1.whl")
            assert "touched by L1 added, L2 removed" in details(app)

    async def test_jump_to_an_overwritten_file(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "2", "down", "down", "enter")  # requests/old.py, hidden by an opaque dir
            node = tree_of(app).cursor_node
            assert node is not None and node.data is not None
            assert node.data.path == f"{SITE}/requests/old.py"


class TestKeys:
    async def test_help_screen_opens_and_closes(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            text = str(app.screen.query_one("#help-text", Static).render())
            for key in ("q", "Tab", "/", "a", "c", "s", "Enter"):
                assert key in text
            await press(pilot, "escape")
            assert isinstance(app.screen, MainScreen)

    async def test_q_quits_from_the_help_screen_too(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            await press(pilot, "f1", "q")
        assert app.return_code == 0

    async def test_tab_moves_between_panes(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            assert isinstance(app.focused, LayersTable)
            await press(pilot, "tab")
            assert isinstance(app.focused, FileTreeView)
            await press(pilot, "shift+tab")
            assert isinstance(app.focused, LayersTable)

    async def test_footer_lists_the_keys(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            keys = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
            assert {"q", "tab", "slash", "a", "c", "s"} <= keys
            await press(pilot, "2")
            keys = {b.binding.key for b in app.active_bindings.values() if b.binding.show and b.enabled}
            assert "enter" in keys and "a" not in keys  # the Files keys leave with the Files pane

    async def test_t_switches_dark_and_light(self, sample: Analysis) -> None:
        async with explore(sample) as (app, pilot):
            assert app.theme == "textual-dark"
            await press(pilot, "t")
            assert app.theme == "textual-light"
