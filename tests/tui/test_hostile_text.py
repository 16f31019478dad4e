"""explore on an image whose text is hostile: history, file names and package metadata show
as the literal (escaped) text; nothing is read as Rich markup or an :emoji: code, and no
control character reaches the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from layerscope.buildcache.request import BuildSpec
from layerscope.tui import make_app
from layerscope.tui.app import ExploreApp
from layerscope.tui.widgets.cache import CacheTable
from layerscope.tui.widgets.details import Details
from layerscope.tui.widgets.files import FilesPane
from layerscope.tui.widgets.filetree import FileTreeView
from layerscope.tui.widgets.layers import LayersTable
from layerscope.tui.widgets.packages import PackagesTable
from tests.support.hostile_text import (
    APK_PACKAGE,
    CLEAR,
    DEB_PACKAGE,
    EMOJI,
    FAKE_PASS,
    GH_STOP,
    HTML,
    MARKUP_PACKAGE,
    RICH_CLICK,
    RICH_LINK,
    assert_plain,
    write_hostile_image,
    write_markup_image,
)
from tests.tui.conftest import node_for, settle

pytestmark = pytest.mark.anyio


def rendered(widget: Widget) -> str:
    """The widget's lines as the terminal would get them (every segment's text)."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def opened_app_dir(app: ExploreApp, pilot: Pilot[Any]) -> tuple[FileTreeView, str]:
    """The Files pane's tree with /app expanded, and its lines as shown."""
    tree = app.screen.query_one(FilesPane).file_tree
    app_dir = node_for(tree, "app")
    tree.populate(app_dir)
    app_dir.expand()
    await settle(pilot)
    return tree, rendered(tree)


async def test_history_file_names_and_packages_show_literally(tmp_path: Path) -> None:
    image = write_hostile_image(tmp_path)
    app = make_app(f"docker-archive:{image}")
    async with app.run_test(size=(220, 60)) as pilot:
        await settle(pilot)
        layers = rendered(app.screen.query_one(LayersTable))
        assert "RUN useradd agent:x:10001 [bold red]loud[/]" in layers  # no ❌, no bold
        assert "RUN echo \\x1b[2J\\x1b[H\\x1b[32mall" in layers
        assert "RUN touch \\u202eexe.txt\\u202c \\u2066x" in layers
        assert "❌" not in layers

        tree, files = await opened_app_dir(app, pilot)
        for shown in (
            "\\x1b[2J\\x1b[Hclear",
            "[bold red]loud[",  # a directory: the name holds a slash
            "agent:x:10001",
            "caf\\xe9",
            "cr\\roverwrite",
            "nl\\nnewline",  # one line, not two
            "\\u202eexe.txt\\u202c",
            "del\\x7fx",
        ):
            assert shown in files, (shown, files)

        tree.focus()
        tree.move_cursor(node_for(tree, "app/agent:x:10001"))
        await settle(pilot)
        details = rendered(app.screen.query_one(Details))
        assert "/app/agent:x:10001" in details

        app.screen.query_one("#tabs").active = "packages-tab"  # type: ignore[attr-defined]
        await settle(pilot)
        packages = rendered(app.screen.query_one(PackagesTable))
        assert "evil\\x1b[2J\\x1b[Hpkg" in packages

        for text, what in ((layers, "layers"), (files, "files"), (details, "details"), (packages, "packages")):
            assert_plain(text.encode(), what)


async def test_cache_view_shows_dockerfile_text_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = write_hostile_image(tmp_path)
    (tmp_path / "Dockerfile").write_text(
        f"FROM busybox AS base\nRUN echo '{FAKE_PASS}' {EMOJI} [bold]x[/bold]\nCOPY . /app/\n"
    )
    (tmp_path / f"x{CLEAR}y").write_text("1")
    monkeypatch.chdir(tmp_path)
    app = make_app(f"docker-archive:{image}", cache=BuildSpec(dockerfile="Dockerfile"))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.screen.query_one("#tabs").active = "cache-tab"  # type: ignore[attr-defined]
        await settle(pilot)
        table = app.screen.query_one(CacheTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await settle(pilot)
        steps = rendered(table)
        assert "RUN echo '\\x1b[32mall checks PASSED\\x1b[0m' agent:x:10001 [bold]x[/bold]" in steps
        summary = rendered(app.screen.query_one("#cache-summary", Static))
        assert "Change RUN (line 2) edited" in summary and "❌" not in summary
        for text, what in ((steps, "steps"), (summary, "summary")):
            assert_plain(text.encode(), what)


def _active_spans(widget: Widget) -> list[str]:
    """Text the terminal would make a link of, or run an action on when clicked."""
    found = []
    for y in range(widget.size.height):
        for seg in widget.render_line(y):
            style = seg.style
            if style is not None and (style.link or any(str(k).startswith("@") for k in (style.meta or {}))):
                found.append(seg.text)
    return found


async def test_links_actions_and_html_in_image_text_stay_text(tmp_path: Path) -> None:
    image = write_markup_image(tmp_path)
    app = make_app(f"docker-archive:{image}")
    async with app.run_test(size=(240, 60)) as pilot:
        await settle(pilot)
        layers_table = app.screen.query_one(LayersTable)
        layers_table.focus()
        layers_table.move_cursor(row=0)
        await settle(pilot)
        layers = rendered(layers_table)
        details = rendered(app.screen.query_one(Details))
        assert f"RUN echo {HTML} {RICH_LINK} {RICH_CLICK}"[:60] in layers
        assert RICH_LINK in details and RICH_CLICK in details  # the whole line, as it is

        tree, files = await opened_app_dir(app, pilot)
        for name in (RICH_LINK, RICH_CLICK, HTML, GH_STOP):
            assert name.replace("/", "") in files, (name, files)

        app.screen.query_one("#tabs").active = "packages-tab"  # type: ignore[attr-defined]
        await settle(pilot)
        packages = app.screen.query_one(PackagesTable)
        shown = rendered(packages)
        for name, version in (MARKUP_PACKAGE, DEB_PACKAGE, APK_PACKAGE):
            assert name[:12] in shown and version[:6] in shown, (name, version, shown)
        packages.focus()
        packages.move_cursor(row=0)
        await settle(pilot)
        about = app.screen.query_one("#package-details", Static)

        widgets = [layers_table, app.screen.query_one(Details), tree, packages, about]
        for widget in widgets:
            assert _active_spans(widget) == [], type(widget).__name__
            assert_plain(rendered(widget).encode(), type(widget).__name__)

        # a click anywhere on image text runs nothing ([@click=app.quit] would end the app)
        for widget in widgets:
            await pilot.click(widget)
            await settle(pilot)
        assert app.is_running and app.return_code is None
