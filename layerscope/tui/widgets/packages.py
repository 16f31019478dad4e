"""The Packages view: every package the image holds, sortable and filterable; Enter shows
its files in the layer that installed it. The Bump column is what bumping its pin rebuilds
(buildcache/features/bump.py: the figure `packages --json` gives as `rebuild`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from layerscope.analysis.state import state_of
from layerscope.model import Analysis, Layer, Package
from layerscope.output.text.bumps import rebuild_text
from layerscope.textsafe import visible
from layerscope.tui.format import plain
from layerscope.tui.messages import ShowPackage
from layerscope.units import fmt_size

PackageKey = tuple[str, str, str, str]

# (label, sort key): the first is the default, `s` cycles, a click on a header picks one
SORTS: dict[str, tuple[str, bool]] = {
    "size": ("size", True),
    "name": ("name", False),
    "ecosystem": ("ecosystem", False),
    "version": ("version", False),
    "layer": ("layer", False),
    "bump": ("bump", True),
}


def key_of(p: Package) -> PackageKey:
    return (p.ecosystem, p.name, p.version, p.location)


def sort_value(p: Package, column: str) -> tuple[object, ...]:
    if column == "size":
        return (p.size, p.name.lower())
    if column == "layer":
        return (-1 if p.layer is None else p.layer, p.name.lower())
    if column == "bump":
        r = p.rebuild
        return (-1.0, -1, p.name.lower()) if r is None else (r.seconds or 0.0, r.bytes or 0, p.name.lower())
    if column == "name":
        return (p.name.lower(), p.ecosystem)
    return (str(getattr(p, column)).lower(), p.name.lower())


def package_text(p: Package, image_layers: Sequence[Layer]) -> Text:
    layers = ", ".join(f"L{i} {fmt_size(b)}" for i, b in p.layers) or "-"
    parts: list[str | tuple[str, str]] = [
        (visible(f"{p.name} {p.version}"), "bold"),
        visible(f"  {p.ecosystem} · {p.category} · {p.location}") + "\n",
        ("bytes by layer ", "dim"),
        layers,
    ]
    if p.dead_bytes:
        parts += [("  hidden by later layers ", "dim"), fmt_size(p.dead_bytes)]
    if p.provided_by:
        parts += [("  counted on ", "dim"), visible(p.provided_by)]
    r = p.rebuild
    if r is not None:
        step = f"line {r.step_line}: " if r.step_line is not None else ""
        text = " ".join(r.step_text.split())
        text = text if len(text) <= 60 else text[:59] + "…"
        parts += [
            "\n",
            ("a bump rebuilds ", "dim"),
            visible(rebuild_text(r, image_layers)),
            "\n",
            ("installed by ", "dim"),
        ]
        parts.append(visible(f"{step}{text}"))
        n = r.shared_total
        if n:
            parts += [("  with ", "dim"), f"{n} other package{'s' if n != 1 else ''}"]
    return Text.assemble(*parts)


def bump_cell(p: Package) -> str:
    """The Bump column: seconds where a timing source gave them, else the bytes rebuilt."""
    r = p.rebuild
    if r is None:
        return "-"
    if r.seconds is not None:
        return f"{r.seconds:.1f} s"
    return fmt_size(r.bytes) if r.bytes is not None else "?"


class PackagesTable(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Show files", show=True),
        Binding("s", "next_sort", "Sort"),
    ]

    def __init__(self, *, id: str | None = None, bump: bool = False) -> None:
        super().__init__(id=id, cursor_type="row")
        self.shown: list[Package] = []
        self.bump = bump  # a Bump column: the packages carry rebuild costs

    def on_mount(self) -> None:
        for label, key in [("Ecosystem", "ecosystem"), ("Name", "name"), ("Version", "version")]:
            self.add_column(label, key=key)
        self.add_column("Size", key="size")
        self.add_column("Layer", key="layer")
        if self.bump:
            self.add_column("Bump", key="bump")

    def fill(self, packages: list[Package]) -> None:
        self.shown = packages
        self.clear()
        for p in packages:
            cells: list[str | Text] = [
                plain(p.ecosystem),
                plain(p.name),
                plain(p.version),
                Text(fmt_size(p.size), justify="right"),
                Text("-" if p.layer is None else f"L{p.layer}", justify="right"),
            ]
            if self.bump:
                cells.append(Text(bump_cell(p), justify="right"))
            self.add_row(*cells, key="\0".join(key_of(p)))

    def action_next_sort(self) -> None:
        pane = next(a for a in self.ancestors if isinstance(a, PackagesPane))
        names = [n for n in SORTS if n != "bump" or self.bump]
        pane.sort_by(names[(names.index(pane.sort_column) + 1) % len(names)])


class PackagesPane(Vertical):
    def __init__(self, analysis: Analysis, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis = analysis
        assert analysis.packages is not None
        self.packages = list(analysis.packages.packages)
        self.sort_column = "size"
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="packages-bar")
        yield Input(placeholder="filter packages by name (/)", id="packages-filter", classes="view-filter")
        yield PackagesTable(id="packages", bump=any(p.rebuild is not None for p in self.packages))
        yield Static("", id="package-details")

    def on_mount(self) -> None:
        self.refill()

    @property
    def table(self) -> PackagesTable:
        return self.query_one(PackagesTable)

    def refill(self) -> None:
        column, descending = SORTS[self.sort_column]
        needle = self.text.lower()
        rows = [p for p in self.packages if not needle or needle in p.name.lower() or needle == p.ecosystem]
        rows.sort(key=lambda p: sort_value(p, column), reverse=descending)
        self.table.fill(rows)
        total = sum(p.size for p in rows)
        narrowed = f" matching '{self.text}'" if self.text else ""
        self.query_one("#packages-bar", Static).update(
            plain(f"Packages: {len(rows)}{narrowed}, {fmt_size(total)} · by {self.sort_column}")
        )
        self.show_details()

    def sort_by(self, column: str) -> None:
        self.sort_column = column
        self.refill()

    def show_details(self) -> None:
        table = self.table
        details = self.query_one("#package-details", Static)
        if 0 <= table.cursor_row < len(table.shown):
            details.update(package_text(table.shown[table.cursor_row], self.analysis.image.layers))
        else:
            details.update("")

    @on(Input.Changed, "#packages-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.text = event.value.strip()
        self.refill()

    @on(Input.Submitted, "#packages-filter")
    def filter_submitted(self) -> None:
        self.table.focus()

    @on(DataTable.HeaderSelected, "#packages")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value in SORTS:
            self.sort_by(event.column_key.value)

    @on(DataTable.RowHighlighted, "#packages")
    def row_highlighted(self) -> None:
        self.show_details()

    @on(DataTable.RowSelected, "#packages")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.table.shown):
            self.find_files(self.table.shown[event.cursor_row])

    @work(thread=True, group="package-files")
    def find_files(self, package: Package) -> None:
        # The ownership of every path: the attribution the report counts, worked out once
        # per analysis and kept with it (analysis/state.py).
        state = state_of(self.analysis)
        paths = [] if state is None else state.package_files().get(key_of(package), [])
        label = f"{package.name} {package.version}"
        self.post_message(ShowPackage(package.layer, label, frozenset(paths)))
