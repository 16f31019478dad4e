"""The help screen: every key, what the marks in the tree mean."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("q", "quit (exit code 0)"),
    ("? / F1", "this help (Esc closes it)"),
    ("Tab / Shift+Tab", "next / previous pane"),
    ("↑ ↓  PgUp PgDn", "move in a list or the tree"),
    ("1 2 …", "tabs: Layers, Waste, …"),
    ("Enter / Space", "open or close a directory"),
    ("Enter in Waste", "jump to the layer and path that hid the bytes"),
    ("Enter, Packages", "the package's files, in the layer that installed it"),
    ("Enter in Cache", "what rebuilds if the step's inputs change"),
    ("r on a file", "what rebuilds if its context file changes"),
    ("/", "filter by path or name, or a Cache path (Esc: clear)"),
    ("a", "this layer's changes ↔ the filesystem up to it"),
    ("c", "only changes on / off"),
    ("s", "sort by name ↔ size (Packages: size, name, …)"),
    ("t", "dark ↔ light theme"),
]

MARKS = [
    ("+", "added by the selected layer"),
    ("~", "modified (new content or attributes) by the selected layer"),
    ("-", "removed by the selected layer: its bytes stay in the image"),
    ("•", "a directory with changes somewhere below it"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1", "dismiss", "Close help"),
        Binding("q", "app.quit_app", "Quit"),  # a modal screen keeps the app's keys from below
    ]

    def compose(self) -> ComposeResult:
        lines = ["[b]layerscope explore[/b]", ""]
        lines += [f"  [b]{key:<16}[/b] {what}" for key, what in KEYS]
        lines += ["", "[b]Marks in the Files tree[/b]", ""]
        lines += [f"  [b]{mark:<3}[/b] {what}" for mark, what in MARKS]
        lines += ["", "Directory sizes add up the files below them. The mouse works too."]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-text")
