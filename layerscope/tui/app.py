"""The explore app: a loading screen at once, the image read in a worker thread, then the
main screen, or the error in the UI. `make_app` is the one way to build it (CLI and tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from layerscope.api import analyze
from layerscope.buildcache.features.bump import costs_or_history
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, LayerRecord
from layerscope.sources.builder import ProgressFn
from layerscope.tui.fsmodel import FsModel
from layerscope.tui.messages import Loaded, LoadFailed, LoadProgress
from layerscope.tui.screens.loading import ErrorScreen, LoadingScreen
from layerscope.tui.screens.main import MainScreen

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec

THEMES = {"dark": "textual-dark", "light": "textual-light"}
INTERNAL_ERROR = 3  # the CLI's exit code for a bug

Loader = Callable[[ProgressFn], Analysis]


class ExploreApp(App[None]):
    CSS_PATH = Path(__file__).parent / "explore.tcss"
    TITLE = "layerscope explore"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit_app", "Quit"),
        Binding("t", "toggle_theme", "Theme", show=False),
    ]

    def __init__(self, ref: str, loader: Loader, *, theme: str = "dark", cache: BuildSpec | None = None) -> None:
        super().__init__()
        self.ref = ref
        self.loader = loader
        self.cache = cache  # the Dockerfile and context of --dockerfile, for the Cache view
        self.theme = THEMES.get(theme, theme)
        self.failure: str | None = None  # the one-line error shown instead of the main screen
        self.analysis: Analysis | None = None
        self.model: FsModel | None = None
        self.failure_code = 0  # what `q` exits with: 0, or the error's exit code
        self.load_done = threading.Event()  # set once the read ended, well or not (tests wait on it)

    def on_mount(self) -> None:
        self.push_screen(LoadingScreen(self.ref))
        # A daemon thread, not a Textual thread worker: those run on asyncio's default executor,
        # which the interpreter joins at exit, so `q` during a long read would hang until it ended.
        threading.Thread(target=self.load, name="layerscope-load", daemon=True).start()

    def load(self) -> None:
        try:
            self._load()
        finally:
            self.load_done.set()

    def _load(self) -> None:
        start = time.monotonic()
        read = 0

        def progress(done: int, total: int, record: LayerRecord) -> None:
            nonlocal read
            read += record.uncompressed_bytes or record.size
            self.post_message(LoadProgress(done, total, read, time.monotonic() - start))

        try:
            analysis = self.loader(progress)
            # Built here, off the UI thread: the path index is the one up-front cost of a large image.
            self.model = FsModel([layer.record for layer in analysis.image.layers])
        except LayerscopeError as err:
            self.post_message(LoadFailed(str(err), err.exit_code))
            return
        except Exception as err:  # a bug: still a message in the UI, never a traceback over it
            self.post_message(LoadFailed(f"internal error: {type(err).__name__}: {err}", INTERNAL_ERROR))
            return
        self.post_message(Loaded(analysis))

    def on_load_progress(self, msg: LoadProgress) -> None:
        if isinstance(self.screen, LoadingScreen):
            self.screen.show_progress(msg)

    def on_loaded(self, msg: Loaded) -> None:
        assert self.model is not None
        self.analysis = msg.analysis
        self.switch_screen(MainScreen(msg.analysis, self.model, self.cache))

    def on_load_failed(self, msg: LoadFailed) -> None:
        self.failure, self.failure_code = msg.message, msg.exit_code
        self.switch_screen(ErrorScreen(self.ref, msg.message))

    def action_quit_app(self) -> None:
        self.exit(return_code=self.failure_code)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"


def make_app(
    ref: str,
    *,
    platform: str | None = None,
    verify: bool = False,
    manifest_only: bool = False,
    use_cache: bool = True,
    insecure: bool = False,
    theme: str = "dark",
    analysis: Analysis | None = None,
    cache: BuildSpec | None = None,
) -> ExploreApp:
    """The explore app for a reference (`analysis:FILE` included), or for an analysis in hand; with `cache`
    (a request without a change: Dockerfile, context, builder, target), a Cache view."""
    if analysis is not None:
        given = analysis
        return ExploreApp(ref, lambda progress: costs_or_history(given, cache), theme=theme, cache=cache)

    def loader(progress: ProgressFn) -> Analysis:
        a = analyze(
            ref,
            platform=platform,
            verify=verify,
            manifest_only=manifest_only,
            progress=progress,
            use_cache=use_cache,
            insecure=insecure,
        )
        return costs_or_history(a, cache)

    return ExploreApp(ref, loader, theme=theme, cache=cache)
