"""The main screen: Layers + Files (+ details) in one tab, Waste in another, extra views after.

Selecting a layer, toggling a mode or typing a filter gives a new FilesState; a worker
builds the view for it (stacking can take a moment on 100k files) and posts FilesReady.
A generation number drops results that a newer request has overtaken.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static, TabbedContent, TabPane, Tree

from layerscope import textsafe
from layerscope.model import Analysis
from layerscope.tui.fsmodel import FsModel
from layerscope.tui.fsview import REMOVED, STACKED, visible_paths
from layerscope.tui.messages import FilesReady, JumpTo, ShowPackage
from layerscope.tui.screens.help import HelpScreen
from layerscope.tui.views import extra_views
from layerscope.tui.widgets.details import Details, file_text, layer_text
from layerscope.tui.widgets.files import FilesPane, FilesState
from layerscope.tui.widgets.filetree import FileTreeView, NodeRef
from layerscope.tui.widgets.layers import LayersTable
from layerscope.tui.widgets.waste import WasteTable
from layerscope.units import fmt_pct, fmt_size

if TYPE_CHECKING:
    from layerscope.buildcache.request import BuildSpec


def figures(a: Analysis) -> str:
    img, t = a.image, a.totals
    parts = [f"{len(img.layers)} layers", fmt_size(t.size)]
    if t.wasted_bytes is not None:
        parts.append(f"{fmt_size(t.wasted_bytes)} wasted")
    if t.efficiency is not None:
        parts.append(f"{fmt_pct(t.efficiency)} efficient")
    return " · ".join(parts)


FILE_ACTIONS = {"toggle_mode", "toggle_changes", "toggle_sort"}


class MainScreen(Screen[None]):
    # Textual annotates this oddly (ClassVar[...] | None), so a ClassVar annotation here fails mypy.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Pane", show=True),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("a", "toggle_mode", "Layer/All"),
        Binding("c", "toggle_changes", "Changes"),
        Binding("s", "toggle_sort", "Sort"),
        Binding("r", "rebuild_file", "Rebuild?"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("question_mark,f1", "help", "Help"),
        *[Binding(str(n), f"show_tab({n})", f"Tab {n}", show=False) for n in range(1, 10)],
    ]

    def __init__(self, analysis: Analysis, model: FsModel, cache: BuildSpec | None = None) -> None:
        super().__init__(id="main")
        self.analysis = analysis
        self.model = model
        self.state = FilesState(mode=STACKED)
        self.generation = 0
        self.pending_reveal: str | None = None
        self.extras = extra_views(analysis, cache)

    def compose(self) -> ComposeResult:
        with Horizontal(id="summary"):  # a long reference is cut with an ellipsis, the figures stay
            yield Label(textsafe.visible(self.analysis.image.reference), id="summary-ref", markup=False)
            yield Label(figures(self.analysis), id="summary-figures", markup=False)
        with TabbedContent(id="tabs"):
            with TabPane("Layers", id="layers-tab"), Container(id="explore"):
                yield LayersTable(self.analysis.image, id="layers")
                yield FilesPane(id="files")
                yield Details(id="details")
            with TabPane("Waste", id="waste-tab"):
                if self.analysis.waste:
                    yield WasteTable(self.analysis, id="waste")
                else:
                    yield Static("No hidden bytes: no later layer overwrote or deleted anything.", id="no-waste")
            for view in self.extras:
                with TabPane(view.title, id=view.tab_id):
                    yield view.build(self.analysis)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(LayersTable).focus()
        if self.analysis.image.layers:
            self.query_one(Details).show_text(layer_text(self.analysis.image.layers[0]))
        self.apply_state(self.state, force=True)

    # -- files ----------------------------------------------------------------------------
    @property
    def files(self) -> FilesPane:
        return self.query_one(FilesPane)

    def apply_state(self, state: FilesState, force: bool = False) -> None:
        if state == self.state and not force:
            return
        self.state = state
        if not self.analysis.image.layers:
            self.files.show_state(state, " · the image has no layers")
            return
        if not self.model.available:
            self.files.show_state(state, " · no layer contents (read with --manifest-only)")
            return
        self.generation += 1
        self.files.show_state(state, " · building…")
        self.build_files(self.generation, state)

    @work(thread=True, exclusive=True, group="files")
    def build_files(self, generation: int, state: FilesState) -> None:
        view = self.model.view(state.layer, state.mode)
        visible = visible_paths(view, state.text, state.only_changes, state.within)
        self.post_message(FilesReady(generation, view, visible))

    def on_files_ready(self, msg: FilesReady) -> None:
        if msg.generation != self.generation:
            return
        tree = self.files.file_tree
        tree.show(msg.view, msg.visible, self.state.order)
        note = ""
        if msg.visible is not None and not msg.visible:
            note = " · nothing matches"
        self.files.show_state(self.state, note)
        if self.pending_reveal is not None:
            path, self.pending_reveal = self.pending_reveal, None
            tree.reveal(path)
            tree.focus()

    # -- selection ------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#layers")
    def layer_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.analysis.image.layers):
            self.query_one(Details).show_text(layer_text(self.analysis.image.layers[index]))
            self.apply_state(replace(self.state, layer=index))

    @on(Tree.NodeHighlighted, "#tree")
    def file_highlighted(self, event: Tree.NodeHighlighted[NodeRef]) -> None:
        if self.files.file_tree.has_focus:  # the details follow the pane you are in
            self.show_file_details()

    def show_file_details(self) -> None:
        tree = self.files.file_tree
        node, view = tree.cursor_node, tree.view
        if node is None or node.data is None or view is None or node.data.more_from >= 0:
            return
        path = node.data.path
        self.query_one(Details).show_text(file_text(view, path, self.model.touches(path)))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.files.file_tree:
            self.show_file_details()
        elif isinstance(event.widget, LayersTable) and self.analysis.image.layers:
            self.query_one(Details).show_text(layer_text(self.analysis.image.layers[self.state.layer]))

    def on_jump_to(self, msg: JumpTo) -> None:
        self.query_one(TabbedContent).active = "layers-tab"
        self.pending_reveal = msg.path
        self.files.filter_input.value = ""
        table = self.query_one(LayersTable)
        table.move_cursor(row=msg.layer)
        self.apply_state(replace(self.state, layer=msg.layer, text="", within=None, within_label=""), force=True)

    def on_show_package(self, msg: ShowPackage) -> None:
        self.query_one(TabbedContent).active = "layers-tab"
        self.files.filter_input.value = ""
        layer = self.state.layer if msg.layer is None else msg.layer
        self.query_one(LayersTable).move_cursor(row=layer)
        self.pending_reveal = min(msg.paths) if msg.paths else None
        self.apply_state(
            replace(self.state, layer=layer, mode=STACKED, text="", within=msg.paths, within_label=msg.label),
            force=True,
        )

    # -- filter ---------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.apply_state(replace(self.state, text=event.value.strip()))

    @on(Input.Submitted, "#filter")
    def filter_submitted(self) -> None:
        self.files.file_tree.focus()

    # -- actions --------------------------------------------------------------------------
    def _view_filter(self) -> Input | None:
        """The filter box of the active tab when it has its own (Packages)."""
        pane = self.query_one(TabbedContent).active_pane
        boxes = pane.query(".view-filter") if pane is not None else None
        return boxes.first(Input) if boxes else None

    def action_filter(self) -> None:
        own = self._view_filter()
        if own is not None:
            own.focus()
            return
        self.query_one(TabbedContent).active = "layers-tab"
        box = self.files.filter_input
        box.add_class("-shown")
        box.focus()

    def action_clear_filter(self) -> None:
        own = self._view_filter()
        if own is not None:
            own.value = ""
            pane = self.query_one(TabbedContent).active_pane
            tables = pane.query(DataTable) if pane is not None else None
            if tables:
                tables.first().focus()
            return
        box = self.files.filter_input
        if box.value:
            box.value = ""
        box.remove_class("-shown")
        if self.state.within is not None:
            self.apply_state(replace(self.state, within=None, within_label=""))
        if box.has_focus:
            self.files.file_tree.focus()

    def action_toggle_mode(self) -> None:
        self.apply_state(self.state.toggled_mode())

    def action_toggle_changes(self) -> None:
        self.apply_state(replace(self.state, only_changes=not self.state.only_changes))

    def action_toggle_sort(self) -> None:
        self.apply_state(self.state.toggled_order())

    def action_rebuild_file(self) -> None:
        """The highlighted file changed in the context: what would rebuild (the Cache view answers)."""
        from layerscope.tui.widgets.cache import CachePane

        node = self.files.file_tree.cursor_node
        if node is None or node.data is None or node.data.more_from >= 0 or not node.data.path:
            return
        path = node.data.path
        # the layer whose copy of the file the view shows: the last one at or below the selected layer to write it
        touches = [t for t in self.model.touches(path) if t.layer <= self.state.layer and t.status != REMOVED]
        layer = touches[-1].layer if touches else None
        self.query_one(TabbedContent).active = "cache-tab"
        pane = self.query_one(CachePane)
        pane.image_file_chosen(path, layer)
        pane.table.focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_show_tab(self, n: int) -> None:
        ids = ["layers-tab", "waste-tab", *[v.tab_id for v in self.extras]]
        if 1 <= n <= len(ids):
            self.query_one(TabbedContent).active = ids[n - 1]

    @on(TabbedContent.TabActivated)
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Focus follows the tab, so the keys of the view you see work at once.
        pane = event.pane
        if self.focused is None or pane not in self.focused.ancestors:
            lists = [w for w in pane.query("DataTable, Tree") if w.focusable]
            if lists:
                lists[0].focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rebuild_file":  # a file of the Files pane, when a Dockerfile was given
            return any(v.tab_id == "cache-tab" for v in self.extras) and isinstance(self.focused, FileTreeView)
        if action in FILE_ACTIONS:  # the Files keys only where the Files pane is
            tabs = self.query(TabbedContent)
            return not tabs or tabs.first().active == "layers-tab"
        return True
