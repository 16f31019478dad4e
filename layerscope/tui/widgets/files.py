"""The Files pane: a status line (layer, mode, sort, narrowing), the filter box and the tree."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from layerscope.tui.format import plain
from layerscope.tui.fsview import BY_NAME, BY_SIZE, CHANGES
from layerscope.tui.widgets.filetree import FileTree


@dataclass(frozen=True, slots=True)
class FilesState:
    """Everything that decides what the tree shows."""

    layer: int = 0
    mode: str = CHANGES
    order: str = BY_NAME
    only_changes: bool = False
    text: str = ""
    within: frozenset[str] | None = None  # a package's files, from the Packages view
    within_label: str = ""

    def toggled_mode(self) -> FilesState:
        return replace(self, mode="stacked" if self.mode == CHANGES else CHANGES)

    def toggled_order(self) -> FilesState:
        return replace(self, order=BY_SIZE if self.order == BY_NAME else BY_NAME)

    def describe(self) -> str:
        what = f"L{self.layer} changes" if self.mode == CHANGES else f"filesystem up to L{self.layer}"
        parts = [what, f"by {self.order}"]
        if self.only_changes:
            parts.append("only changes")
        if self.within is not None:
            parts.append(f"files of {self.within_label}")
        if self.text:
            parts.append(f"filter '{self.text}'")
        return " · ".join(parts)


class FilesPane(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("Files", id="files-bar")
        yield Input(placeholder="filter paths (Enter: to tree, Esc: clear)", id="filter")
        yield FileTree(id="tree")

    def show_state(self, state: FilesState, note: str = "") -> None:
        self.query_one("#files-bar", Static).update(plain(f"Files: {state.describe()}{note}"))

    @property
    def file_tree(self) -> FileTree:
        return self.query_one(FileTree)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)
