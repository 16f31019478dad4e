"""The Waste view: the largest hidden paths; Enter jumps to the layer that hid one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from layerscope.model import Analysis
from layerscope.tui.format import plain
from layerscope.tui.messages import JumpTo
from layerscope.units import fmt_size


class WasteTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Jump to layer", show=True)]

    def __init__(self, analysis: Analysis, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.analysis = analysis

    def on_mount(self) -> None:
        self.add_column("Bytes", key="bytes")
        self.add_column("Added", key="layer")
        self.add_column("Hidden by", key="hidden_by")
        self.add_column("Why", key="reason")
        self.add_column("Path", key="path")
        for i, w in enumerate(self.analysis.waste):
            self.add_row(
                Text(fmt_size(w.bytes), justify="right"),
                Text(f"L{w.layer}", justify="right"),
                Text(f"L{w.hidden_by}", justify="right"),
                w.reason,
                plain("/" + w.path),
                key=str(i),
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        w = self.analysis.waste[event.cursor_row]
        self.post_message(JumpTo(w.hidden_by, w.path))
