"""Fixtures for the explore tests: the sample image (read through the real API) and pilot helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from layerscope.model import Analysis
from layerscope.tui.app import ExploreApp
from layerscope.tui.widgets.filetree import FileTreeView, Node
from tests.tui.sample import sample_analysis, sample_spec, write_build


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding sample.tar, the sample image as a docker-archive."""
    directory = tmp_path_factory.mktemp("sample")
    sample_spec().docker_archive(str(directory / "sample.tar"))
    return directory


@pytest.fixture(scope="session")
def sample(sample_dir: Path) -> Analysis:
    return sample_analysis(sample_dir)


@pytest.fixture(scope="session")
def packages_sample(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    """The sample with package databases (dash, libc6, numpy, requests), same reference."""
    directory = tmp_path_factory.mktemp("sample-packages")
    sample_spec(packages=True).docker_archive(str(directory / "sample.tar"))
    return sample_analysis(directory)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Dockerfile and context the sample image was (notionally) built from."""
    directory = tmp_path_factory.mktemp("build")
    write_build(directory)
    return directory


def busy(app: ExploreApp) -> bool:
    """Whether anything is still in flight: a worker, a queued message or callback anywhere on the
    screen, a layout, scroll or repaint the screen has not done yet, or its after-refresh callbacks.

    Pilot waits for the messages queued when it looks, not for what those messages start (a worker
    posting a result that reveals a path, whose scroll runs after the next refresh). Under load the
    screenshot could land between two of those steps, so settle looks at Textual's own queues.
    """
    if any(not w.is_finished for w in app.workers):  # pending counts: a worker may wait for a thread
        return True
    screen = app.screen
    for pump in [app, *screen.walk_children(with_self=True)]:
        if not pump._message_queue.empty() or pump._next_callbacks:
            return True
        bars = [getattr(pump, "_vertical_scrollbar", None), getattr(pump, "_horizontal_scrollbar", None)]
        if any(bar is not None and not bar._message_queue.empty() for bar in bars):
            return True
        # a DataTable measures its columns on its next idle: until then new cells draw at old widths
        if isinstance(pump, DataTable) and (pump._require_update_dimensions or pump._updated_cells):
            return True
    return bool(
        screen._callbacks
        or screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._dirty_widgets
        or screen._recompose_required
    )


async def settle(pilot: Pilot[None]) -> None:
    """Let the load thread, the view workers and everything they start finish and land."""
    app = pilot.app
    assert isinstance(app, ExploreApp)
    for _ in range(3000):
        if app.load_done.is_set():
            break
        await pilot.pause(0.01)
    quiet, last = 0, ""
    for _ in range(2000):
        await pilot.app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        shot = "" if busy(app) else app.export_screenshot()
        # quiet: nothing in flight and the same picture on three looks in a row (what is drawn
        # lags what is done by a repaint; a message that starts the next step has had its turn)
        quiet = quiet + 1 if shot and shot == last else 0
        last = shot
        if quiet >= 2:
            return
        await pilot.pause(0.02)
    raise AssertionError("the explore app never settled")


def shown(tree: FileTreeView) -> list[str]:
    """Paths on the tree's lines, top to bottom (what a person sees when scrolling)."""
    out: list[str] = []

    def walk(node: Node) -> None:
        for child in node.children:
            if child.data is not None:
                out.append(child.data.path if child.data.more_from < 0 else f"<more {child.data.path}>")
            if child.is_expanded:
                walk(child)

    walk(tree.root)
    return out


def node_for(tree: FileTreeView, path: str) -> Node:
    stack = list(tree.root.children)
    while stack:
        node = stack.pop()
        if node.data is not None and node.data.path == path and node.data.more_from < 0:
            return node
        stack.extend(node.children)
    raise AssertionError(f"{path} is not in the tree")
