"""The app around the views: loading in a worker with progress, errors in the UI, quitting,
saved analyses, manifest-only images."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from textual.widgets import ProgressBar, Static

from layerscope import api
from layerscope.analysis.serialize import saved_document
from layerscope.model import Analysis, LayerRecord
from layerscope.sources.builder import ProgressFn
from layerscope.tui import make_app
from layerscope.tui.app import ExploreApp
from layerscope.tui.screens.loading import ErrorScreen, LoadingScreen
from layerscope.tui.screens.main import MainScreen
from layerscope.tui.widgets.files import FilesPane
from layerscope.tui.widgets.layers import LayersTable
from tests.support.factory import ImageSpec, f, layer_tar
from tests.tui.conftest import settle, shown

pytestmark = pytest.mark.anyio


def text_of(app: ExploreApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_reads_a_reference_in_a_worker_and_shows_the_layers(sample_dir: Path) -> None:
    app = make_app(f"docker-archive:{sample_dir / 'sample.tar'}")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        table = app.screen.query_one(LayersTable)
        assert table.row_count == 4
        assert "pip install numpy requests" in str(table.get_row_at(1)[4])
        assert app.analysis is not None and app.analysis.totals.wasted_bytes == 12226
        assert shown(app.screen.query_one(FilesPane).file_tree) == ["bin", "etc", "root", "usr"]


async def test_loading_view_shows_layers_read_bytes_and_an_eta(sample_dir: Path) -> None:
    """The real reader runs; its progress callback pauses after the first layer so we can look."""
    first_layer = threading.Event()
    go_on = threading.Event()
    ref = f"docker-archive:{sample_dir / 'sample.tar'}"

    def loader(progress: ProgressFn) -> Analysis:
        def paused(done: int, total: int, record: LayerRecord) -> None:
            progress(done, total, record)
            if done == 1:
                first_layer.set()
                go_on.wait(30)

        return api.analyze(ref, progress=paused)

    app = ExploreApp(ref, loader)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadingScreen)
        assert first_layer.wait(30)
        for _ in range(50):  # the progress message lands on the UI thread soon after
            await pilot.pause(0.02)
            if "layers read" in text_of(app, "#loading-status"):
                break
        status = text_of(app, "#loading-status")
        assert status.startswith("1/4 layers read")
        assert "kB uncompressed" in status and "ETA" in status
        bar = app.screen.query_one(ProgressBar)
        assert (bar.progress, bar.total) == (1, 4)
        go_on.set()
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_a_bad_reference_is_shown_in_the_ui_and_q_exits_2(tmp_path: Path) -> None:
    app = make_app(f"docker-archive:{tmp_path / 'missing.tar'}")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert text_of(app, "#error-message") == f"no such file: {tmp_path / 'missing.tar'}"
        await pilot.press("q")
    assert app.return_code == 2
    assert app.failure == f"no such file: {tmp_path / 'missing.tar'}"


async def test_a_file_that_is_not_an_image_gives_the_same_error_as_inspect(tmp_path: Path, run_cli) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    app = make_app(f"analysis:{junk}")
    async with app.run_test() as pilot:
        await settle(pilot)
        shown_error = text_of(app, "#error-message")
    cli = run_cli("inspect", f"analysis:{junk}")
    assert cli.code == 2
    assert cli.err.strip() == f"layerscope: {shown_error}"


async def test_q_quits_with_exit_code_0(sample: Analysis) -> None:
    app = make_app("sample", analysis=sample)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0
    assert app.failure is None


async def test_a_saved_analysis_opens_like_the_image(tmp_path: Path, sample: Analysis) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(saved_document(sample)))
    app = make_app(f"analysis:{saved}")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(LayersTable).row_count == 4
        assert shown(app.screen.query_one(FilesPane).file_tree) == ["bin", "etc", "root", "usr"]


async def test_manifest_only_says_there_are_no_contents(tmp_path: Path) -> None:
    path = ImageSpec([layer_tar([f("a", "x")])]).docker_archive(str(tmp_path / "m.tar"))
    app = make_app(f"docker-archive:{path}", manifest_only=True)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert "no layer contents" in text_of(app, "#files-bar")
        assert shown(app.screen.query_one(FilesPane).file_tree) == []


async def test_q_while_loading_quits_without_waiting_for_the_read(sample_dir: Path) -> None:
    release = threading.Event()
    ref = f"docker-archive:{sample_dir / 'sample.tar'}"

    def loader(progress: ProgressFn) -> Analysis:
        release.wait(30)  # a read that has not finished when the user gives up
        return api.analyze(ref, progress=progress)

    app = ExploreApp(ref, loader)
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoadingScreen)
            await pilot.press("q")
        assert app.return_code == 0
        assert not app.load_done.is_set()  # the app ended while the read was still going
    finally:
        release.set()


def test_the_loader_reads_with_the_flags_given(sample_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`explore --no-cache` reaches the read (it was once accepted and dropped), as do the other flags."""
    from layerscope.tui import app as app_module

    seen: list[dict[str, object]] = []
    real = app_module.analyze

    def spy(ref: str, **kwargs: object) -> Analysis:
        seen.append(kwargs)
        return real(ref, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app_module, "analyze", spy)
    ref = f"docker-archive:{sample_dir / 'sample.tar'}"
    analysis = make_app(ref, use_cache=False, verify=True, insecure=True).loader(lambda *_: None)
    assert analysis.totals.wasted_bytes == 12226
    assert (seen[-1]["use_cache"], seen[-1]["verify"], seen[-1]["insecure"]) == (False, True, True)
    make_app(ref).loader(lambda *_: None)
    assert (seen[-1]["use_cache"], seen[-1]["verify"], seen[-1]["insecure"]) == (True, False, False)
