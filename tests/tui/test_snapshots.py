"""What a person sees, pinned as SVG snapshots (pytest-textual-snapshot): at 80×24 and
160×50, in the dark and the light theme. `pytest --snapshot-update` rewrites them after a
deliberate change; look at the report before accepting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from layerscope.buildcache.request import BuildSpec
from layerscope.model import Analysis
from layerscope.tui import make_app
from tests.tui.conftest import settle

SIZES = {"80x24": (80, 24), "160x50": (160, 50)}

Compare = Callable[..., bool]


def keys(*pressed: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press keys one by one, letting the view workers finish in between."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run_before


# Layer 2 (the cleanup) with /etc open: added, modified and removed marks all on screen.
CLEANUP = ("down", "down", "tab", "down", "enter", "down", "down")


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", list(SIZES))
def test_layers_and_files(snap_compare: Compare, sample: Analysis, size: str, theme: str) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample, theme=theme)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys(*CLEANUP))


def test_layer_changes_only(snap_compare: Compare, sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample)
    run = keys("down", "down", "a", "tab", "down", "down", "enter")  # /root/.cache, removed
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_filter(snap_compare: Compare, sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample, theme="light")
    run = keys("down", "slash", *"core", "enter", "s")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", list(SIZES))
def test_waste(snap_compare: Compare, sample: Analysis, size: str) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys("2"))


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_help(snap_compare: Compare, sample: Analysis, theme: str) -> None:
    app = make_app("docker-archive:sample.tar", analysis=sample, theme=theme)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("question_mark"))


def test_error(snap_compare: Compare) -> None:
    app = make_app("docker-archive:does-not-exist.tar")
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys())


@pytest.mark.parametrize(("size", "theme"), [("80x24", "dark"), ("160x50", "light")])
def test_packages(snap_compare: Compare, packages_sample: Analysis, size: str, theme: str) -> None:
    app = make_app("docker-archive:sample.tar", analysis=packages_sample, theme=theme)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys("3", "down"))


def test_package_files(snap_compare: Compare, packages_sample: Analysis) -> None:
    app = make_app("docker-archive:sample.tar", analysis=packages_sample)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys("3", "enter"))


# explore --dockerfile: the RUN at line 4 edited (three steps miss), in both themes and sizes.
@pytest.mark.parametrize(
    ("size", "theme"), [("80x24", "dark"), ("80x24", "light"), ("160x50", "dark"), ("160x50", "light")]
)
def test_cache(
    snap_compare: Compare, sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch, size: str, theme: str
) -> None:
    monkeypatch.chdir(build_dir)  # the view names the Dockerfile and context as given: relative, the same every run
    app = make_app("docker-archive:sample.tar", analysis=sample, theme=theme, cache=BuildSpec(dockerfile="Dockerfile"))
    assert snap_compare(app, terminal_size=SIZES[size], run_before=keys("3", "down", "down", "down", "enter"))


def test_cache_from_a_file(
    snap_compare: Compare, sample: Analysis, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(build_dir)
    app = make_app("docker-archive:sample.tar", analysis=sample, cache=BuildSpec(dockerfile="Dockerfile"))
    # L3, the Files pane, /app opened, app/main.py: r
    run = keys("down", "down", "down", "tab", "up", "enter", "down", "r")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)
