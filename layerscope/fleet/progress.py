"""The progress bar of a fleet run: on stderr, only on a terminal, one line redrawn."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from layerscope.fleet.listener import Listener
from layerscope.fleet.records import ImageSummary, LayerStats
from layerscope.textsafe import log_line
from layerscope.units import fmt_size

WIDTH = 24
MIN_INTERVAL = 0.1  # seconds between redraws: thousands of layers should not flood the terminal


class Bar(Listener):
    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.images = self.layers = 0
        self.images_done = self.layers_done = self.failed = 0
        self.bytes_read = 0
        self.blobs_read = 0
        self._last = 0.0

    def planned(self, images: int, layers: int) -> None:
        self.images, self.layers = images, layers
        self._draw()

    def layer(self, stats: LayerStats) -> None:
        self.layers_done += 1
        if stats.read and stats.stored_bytes:
            self.bytes_read += stats.stored_bytes
            self.blobs_read += 1
        self._draw()

    def image(self, summary: ImageSummary) -> None:
        self.images_done += 1
        self.failed += summary.error is not None
        self._draw(force=self.images_done == self.images)

    def line(self) -> str:
        share = self.layers_done / self.layers if self.layers else 0.0
        filled = int(WIDTH * share)
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (
            f"[{'#' * filled}{'.' * (WIDTH - filled)}] layers {self.layers_done}/{self.layers}, "
            f"{fmt_size(self.bytes_read)} read, images {self.images_done}/{self.images}{failed}"
        )

    def note(self, text: str) -> None:
        """A line of its own above the bar: escaped as every line of the CLI is (textsafe.log_line)."""
        if self.enabled:
            self.stream.write(log_line(text) + "\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < MIN_INTERVAL:
            return
        self._last = now
        self.stream.write("\r" + self.line() + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()
