"""Fixtures for the explore tests: the sample image (read through the real API) and pilot helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

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


async def settle(pilot: Pilot[None]) -> None:
    """Let the load thread and the view workers finish and their messages land."""
    app = pilot.app
    assert isinstance(app, ExploreApp)
    for _ in range(3000):
        if app.load_done.is_set():
            break
        await pilot.pause(0.01)
    # Quiet means no worker running on several looks in a row, a little time apart: under load a
    # message that starts the next worker (a view's simulation) may not have been handled yet.
    quiet = 0
    for _ in range(200):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if any(w.is_running for w in pilot.app.workers):
            quiet = 0
            continue
        quiet += 1
        if quiet >= 3:
            return
        await pilot.pause(0.02)


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
