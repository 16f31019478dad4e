"""The Packages view: shown when the analysis has packages; sort, filter, and Enter to see a
package's files in the layer that installed it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static, TabbedContent

from layerscope.api import analyze
from layerscope.buildcache.features.bump import package_costs
from layerscope.buildcache.request import BuildSpec
from layerscope.model import Analysis
from layerscope.output.json import packages_document
from layerscope.tui import make_app
from layerscope.tui.app import ExploreApp
from layerscope.tui.screens.main import MainScreen
from layerscope.tui.widgets.files import FilesPane
from layerscope.tui.widgets.layers import LayersTable
from layerscope.tui.widgets.packages import PackagesTable
from tests.buildcache import bumpcase
from tests.tui.conftest import settle, shown
from tests.tui.sample import SITE

pytestmark = pytest.mark.anyio


def names(app: ExploreApp) -> list[str]:
    return [p.name for p in app.screen.query_one(PackagesTable).shown]


def bar(app: ExploreApp, which: str) -> str:
    return str(app.screen.query_one(which, Static).render())


async def test_no_packages_no_tab(sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert [p.id for p in app.screen.query_one(TabbedContent).query("TabPane")] == ["layers-tab", "waste-tab"]


async def test_packages_sorted_by_size_then_by_name_and_by_header(packages_sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=packages_sample)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "packages-tab"
        assert isinstance(app.focused, PackagesTable)
        assert names(app) == ["numpy", "libc6", "dash", "requests"]
        assert bar(app, "#packages-bar") == "Packages: 4, 33.9 kB · by size"
        assert bar(app, "#package-details").startswith("numpy 1.26.0  python · python-packages")
        await pilot.press("s")
        await settle(pilot)
        assert names(app) == ["dash", "libc6", "numpy", "requests"]
        assert bar(app, "#packages-bar").endswith("by name")
        await pilot.click("#packages", offset=(23, 0))  # the Version header
        await settle(pilot)
        assert names(app) == ["dash", "numpy", "requests", "libc6"]
        assert bar(app, "#packages-bar").endswith("by version")


async def test_filter_packages(packages_sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=packages_sample)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("3", "slash")
        assert isinstance(app.focused, Input) and app.focused.id == "packages-filter"
        await pilot.press(*"re")
        await settle(pilot)
        assert names(app) == ["requests"]
        await pilot.press("enter")
        assert isinstance(app.focused, PackagesTable)
        await pilot.press("escape")
        await settle(pilot)
        assert len(names(app)) == 4


async def test_enter_shows_the_packages_files_in_its_layer(packages_sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=packages_sample)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("3", "down", "down", "down", "enter")  # requests, by size: the smallest
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(TabbedContent).active == "layers-tab"
        assert app.screen.query_one(LayersTable).cursor_row == 1  # pip's layer installed it
        assert "files of requests 2.31.0" in bar(app, "#files-bar")
        tree = app.screen.query_one(FilesPane).file_tree
        files = [p for p in shown(tree) if p.startswith(f"{SITE}/requests")]
        assert f"{SITE}/requests/__init__.py" in files
        assert f"{SITE}/requests-2.31.0.dist-info/RECORD" in files
        assert not [p for p in shown(tree) if "numpy" in p or p.startswith(("bin", "etc"))]
        assert app.focused is tree
        await pilot.press("escape")
        await settle(pilot)
        assert "files of" not in bar(app, "#files-bar")
        assert "bin" in shown(tree)


async def test_bump_column_shows_what_packages_json_says(tmp_path: Path) -> None:
    """The Bump column and the details: the figure `packages --json` gives (the same Dockerfile and log)."""
    ref, ctx, log = bumpcase.make(tmp_path)
    request = BuildSpec(context=str(ctx), timings=str(log))
    doc = packages_document(package_costs(analyze(ref), request))
    figure = {p["name"]: p["rebuild"] for p in doc["packages"]}
    app = make_app(ref, analysis=analyze(ref), cache=request)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one(PackagesTable)
        row = [p.name for p in table.shown].index("idna")
        assert str(table.get_row_at(row)[-1]) == f"{figure['idna']['seconds']:.1f} s" == "20.3 s"
        table.move_cursor(row=row)
        await settle(pilot)
        details = bar(app, "#package-details")
        assert "a bump rebuilds 3 layers, " in details and "20.3 s" in details
        step = "line 4: RUN pip install --no-cache-dir -r requirements.txt"
        assert f"installed by {step}  with 4 other packages" in details
        await pilot.press("s", "s", "s", "s", "s")  # size, name, ecosystem, version, layer, then bump
        await settle(pilot)
        assert bar(app, "#packages-bar").endswith("by bump")
        assert table.shown[0].name == "libc6"  # a new base image rebuilds every step: the costliest bump
