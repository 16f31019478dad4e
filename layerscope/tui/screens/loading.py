"""Shown at once while a worker reads the image: layers read, bytes, an ETA; or the error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from layerscope.textsafe import visible
from layerscope.tui.format import fmt_duration
from layerscope.tui.messages import LoadProgress
from layerscope.units import fmt_size


class LoadingScreen(Screen[None]):
    def __init__(self, ref: str) -> None:
        super().__init__(id="loading")
        self.ref = ref

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="loading-box"):
            yield Static(visible(f"Reading {self.ref}"), id="loading-title", markup=False)  # a ref may hold brackets
            yield ProgressBar(total=None, show_eta=False, id="loading-bar")
            yield Static("opening…", id="loading-status")
        yield Footer(show_command_palette=False)

    def show_progress(self, p: LoadProgress) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=p.total, progress=p.done)
        eta = None if p.done == 0 else p.elapsed / p.done * (p.total - p.done)
        self.query_one("#loading-status", Static).update(
            f"{p.done}/{p.total} layers read · {fmt_size(p.bytes_read)} uncompressed · ETA {fmt_duration(eta)}"
        )


class ErrorScreen(Screen[None]):
    """A reference that cannot be read: the same one line `inspect` prints, and how to leave."""

    def __init__(self, ref: str, message: str) -> None:
        super().__init__(id="error")
        self.ref, self.message = ref, message

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="error-box"):
            yield Static(visible(f"Cannot explore {self.ref}"), id="error-title", markup=False)
            yield Static(visible(self.message), id="error-message", markup=False)
            yield Static("Press q to quit.", id="error-hint")
        yield Footer(show_command_palette=False)
