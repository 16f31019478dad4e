"""The Cache view (explore --dockerfile): the Dockerfile's steps beside their layers; Enter on a step, a typed
context path, or `r` on a file of the Files pane simulates that change and shows what rebuilds and its bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TabbedContent

from layerscope.buildcache.request import BuildSpec
from layerscope.model import Analysis, layers_stored_word
from layerscope.tui import make_app
from layerscope.tui.app import ExploreApp
from layerscope.tui.widgets.cache import CachePane, CacheTable
from layerscope.tui.widgets.filetree import FileTreeView
from layerscope.units import fmt_size
from tests.tui.conftest import node_for, settle
from tests.tui.sample import SITE

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def explore(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str = "Dockerfile"
) -> AsyncIterator[tuple[ExploreApp, Pilot[None]]]:
    monkeypatch.chdir(build_dir)
    app = make_app("docker-archive:sample.tar", analysis=sample, cache=BuildSpec(dockerfile=dockerfile))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        yield app, pilot


async def press(pilot: Pilot[None], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def pane(app: ExploreApp) -> CachePane:
    return app.screen.query_one(CachePane)


def summary(app: ExploreApp) -> str:
    return str(app.screen.query_one("#cache-summary", Static).render())


def statuses(app: ExploreApp) -> dict[int, str]:
    table = app.screen.query_one(CacheTable)
    return {r.line: str(table.get_row_at(i)[0]) for i, r in enumerate(table.listed)}


def layer_bytes(sample: Analysis, *layers: int) -> str:
    size = sum(sample.image.layers[i].size or 0 for i in layers)
    stored = sum(sample.image.layers[i].compressed_size or 0 for i in layers)
    return f"{fmt_size(size)} ({fmt_size(stored)} {layers_stored_word(sample.image.layers, layers)})"


async def test_the_tab_lists_the_steps_with_their_layers(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        tabs = app.screen.query_one(TabbedContent)
        assert [p.id for p in tabs.query("TabPane")] == ["layers-tab", "waste-tab", "cache-tab"]
        await press(pilot, "3")
        assert tabs.active == "cache-tab" and isinstance(app.focused, CacheTable)
        table = app.screen.query_one(CacheTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["1", "2", "3", "4", "5", "6"]
        assert [r[3] for r in rows] == ["", "L0", "-", "L1", "L2", "L3"]  # ENV: no layer; FROM: none of its own
        assert rows[3][2] == "RUN pip install numpy requests"
        assert rows[3][4] == fmt_size(sample.image.layers[1].size)
        assert rows[3][5] == fmt_size(sample.image.layers[1].compressed_size)
        assert all(r[0] == "" for r in rows)  # nothing simulated yet
        assert summary(app).startswith("Enter on a step")
        bar = str(app.screen.query_one("#cache-bar", Static).render())
        assert bar == "Cache: Dockerfile · context . · buildkit"


async def test_enter_on_a_run_step_rebuilds_it_and_everything_after(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        await press(pilot, "3", "down", "down", "down", "enter")
        assert statuses(app) == {1: "·", 2: "hit", 3: "·", 4: "miss", 5: "miss", 6: "miss"}
        text = summary(app)
        assert "Change RUN (line 4) edited" in text
        assert f"3 steps rebuild from line 4: 3 layers, {layer_bytes(sample, 1, 2, 3)}" in text
        assert "line 4 stage-0 miss: RUN (line 4) changed" in text
        await press(pilot, "down")  # the details follow the cursor
        assert "line 5 stage-0 miss: earlier step at line 4 (RUN) missed" in summary(app)
        cost = pane(app).cost
        assert cost is not None and cost.layers == (1, 2, 3)


async def test_enter_on_a_copy_changes_the_files_it_copies(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        await press(pilot, "3", "ctrl+end", "enter")
        assert statuses(app)[6] == "miss" and [n for n, s in statuses(app).items() if s == "miss"] == [6]
        text = summary(app)
        assert "Change the 2 files COPY (line 6) copies changed" in text
        assert f"1 step rebuild from line 6: 1 layer, {layer_bytes(sample, 3)}" in text
        assert "app/main.py changed (and 1 more)" in text
        await press(pilot, "ctrl+home", "enter")  # FROM scratch: nothing to change, said in the view
        assert "FROM scratch (line 1) has no inputs to change" in summary(app)
        assert set(statuses(app).values()) == {""}


async def test_typing_a_context_path(sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        await press(pilot, "3", "slash")
        assert isinstance(app.focused, Input) and app.focused.id == "cache-path"
        await press(pilot, *"rootfs.tar", "enter")
        assert isinstance(app.focused, CacheTable)
        assert [n for n, s in statuses(app).items() if s == "miss"] == [2, 4, 5, 6]
        assert app.focused.cursor_row == 1  # on the first step that misses
        assert "line 2 stage-0 miss: rootfs.tar changed" in summary(app)
        await press(pilot, "slash", "escape", "slash", *"notes.txt", "enter")  # in the context, but ignored
        assert "nothing rebuilds: every step hits the cache" in summary(app)
        await press(pilot, "slash", "escape", "slash", *"nope.txt", "enter")
        assert "nope.txt: not in the context ." in summary(app)


async def test_r_on_a_file_simulates_the_context_file_it_came_from(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        await press(pilot, "down", "down", "down", "tab")  # L3, the files up to it
        tree = app.screen.query_one(FileTreeView)
        assert "r" in [b.binding.key for b in app.screen.active_bindings.values() if b.enabled]
        tree.move_cursor(node_for(tree, "app"))
        await press(pilot, "enter")
        tree.move_cursor(node_for(tree, "app/main.py"))
        await press(pilot, "r")
        assert app.screen.query_one(TabbedContent).active == "cache-tab"
        assert "Change app/main.py changed" in summary(app)
        assert [n for n, s in statuses(app).items() if s == "miss"] == [6]
        await press(pilot, "1", "tab")
        tree.move_cursor(node_for(tree, "usr"))
        await press(pilot, "enter")
        for part in ("usr/lib", "usr/lib/python3", SITE, f"{SITE}/numpy"):
            tree.move_cursor(node_for(tree, part))
            await press(pilot, "enter")
        tree.move_cursor(node_for(tree, f"{SITE}/numpy/core.so"))
        await press(pilot, "r")
        assert f"/{SITE}/numpy/core.so was made by RUN (line 4), not copied from the context" in summary(app)


async def test_r_without_a_dockerfile_does_nothing(sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "tab")
        assert isinstance(app.focused, FileTreeView)
        assert "r" not in [b.binding.key for b in app.screen.active_bindings.values() if b.enabled]
        await press(pilot, "r")
        assert app.screen.query_one(TabbedContent).active == "layers-tab"


async def test_a_bad_dockerfile_is_shown_in_the_tab(
    sample: Analysis, build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "Bad.Dockerfile"
    bad.write_text("FROM scratch\nCOPY\n")
    async with explore(sample, build_dir, monkeypatch, dockerfile=str(bad)) as (app, pilot):
        await press(pilot, "3")
        assert summary(app).startswith("Cannot simulate: Dockerfile line 2")
        assert app.screen.query_one(CacheTable).row_count == 0
        await press(pilot, "1")  # the rest of the UI works
        assert app.screen.query_one(TabbedContent).active == "layers-tab"


async def test_the_theme_switch_restyles_the_statuses(
    sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with explore(sample, build_dir, monkeypatch) as (app, pilot):
        await press(pilot, "3", "ctrl+end", "enter")
        table = app.screen.query_one(CacheTable)
        before = table.get_row_at(5)[0].style
        await press(pilot, "t")
        after = table.get_row_at(5)[0].style
        assert app.theme == "textual-light" and before != after and str(table.get_row_at(5)[0]) == "miss"
