"""The Layers pane: one row per layer, with sizes, a size bar and the command that made it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from layerscope.model import Image
from layerscope.tui.format import plain, short_command, size_bar
from layerscope.units import fmt_size

BAR_WIDTH = 8


class LayersTable(DataTable[str | Text]):
    def __init__(self, image: Image, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.image = image

    def on_mount(self) -> None:
        self.add_column("#", key="index")
        self.add_column("Size", key="size")
        self.add_column("Stored", key="compressed")  # the blob as stored: a plain tar in some sources
        self.add_column("", key="bar", width=BAR_WIDTH)
        self.add_column("Created by", key="created_by")
        largest = max((layer.size or 0 for layer in self.image.layers), default=0)
        for layer in self.image.layers:
            self.add_row(
                Text(str(layer.index), justify="right"),
                Text(fmt_size(layer.size), justify="right"),
                Text(fmt_size(layer.compressed_size), justify="right"),
                size_bar(layer.size or 0, largest, BAR_WIDTH),
                plain(short_command(layer.created_by, 200)),
                key=str(layer.index),
            )
