"""The Cache view: the Dockerfile's steps beside the layers they made in this image. Choosing a step simulates
its inputs changing, typing a context path (or `r` on a file in the Files pane) that file changing; the
table then shows which steps would rebuild and why, and the bytes of the layers they would make again.

Reading the Dockerfile and context, and every simulation, run in worker threads; a generation number drops
results a newer request has overtaken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.inputs.whatif import ListedStep, PlannedChange, WhatIf
from layerscope.buildcache.pricing.imagemap import RebuildCost, StepMap, map_steps, rebuild_cost
from layerscope.buildcache.request import BuildSpec
from layerscope.buildcache.results import DEPENDS, HIT, MISS, NONE, SKIPPED, StepResult
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, layers_stored_word
from layerscope.textsafe import visible
from layerscope.units import fmt_size

FIXED = 43  # columns the table needs besides the step text (status, line, layer, two sizes, padding)
STATUS = {MISS: "miss", HIT: "hit", DEPENDS: "dep?", SKIPPED: "skip", NONE: "·"}
INTRO = (
    "Enter on a step: what rebuilds if its inputs change. / and a context path: if that file changes. "
    "r on a file in the Files pane asks the same of it."
)


def compact(text: str) -> str:
    """A step on one line, without --mount specs (they fill the column and the details show them)."""
    return visible(" ".join(w for w in text.split() if not w.startswith("--mount=")))


@dataclass
class CacheReady(Message):
    whatif: WhatIf | None
    steps: StepMap | None
    error: str | None


@dataclass
class CacheSimulated(Message):
    generation: int
    what: str
    cost: RebuildCost | None
    error: str | None


class CacheTable(DataTable[str | Text]):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"cachetable--miss", "cachetable--hit", "cachetable--dim"}
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Simulate step", show=True)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.listed: list[ListedStep] = []

    def on_mount(self) -> None:
        # The status column is as wide as its longest word from the start: a width measured from
        # the cells would grow when the first simulation lands, and DataTable measures on idle.
        self.add_column("", key="status", width=max(len(s) for s in STATUS.values()))
        for label, key in [("Line", "line"), ("Step", "text"), ("Layer", "layer")]:
            self.add_column(label, key=key)
        self.add_column("Size", key="size")
        self.add_column("Stored", key="compressed")  # the blob as stored: a plain tar in some sources

    def style_of(self, status: str | None) -> Style:
        """The theme's style for a status, without its background (the cursor row keeps its own)."""
        name = {MISS: "cachetable--miss", HIT: "cachetable--hit", SKIPPED: "cachetable--dim", NONE: "cachetable--dim"}
        if status not in name:
            return Style()
        style = self.get_component_rich_style(name[status])
        return Style(color=style.color, bold=style.bold, dim=style.dim)

    def fill(self, rows: list[ListedStep], steps: StepMap | None, results: dict[tuple[str, int], StepResult]) -> None:
        cursor = self.cursor_row
        self.listed = rows
        self.clear()
        width = max(16, self.size.width - FIXED)
        for r in rows:
            result = results.get((r.stage, r.line))
            status = result.status if result is not None else None
            made = steps.of(r.stage, r.line) if steps is not None else None
            text = compact(r.text)
            text = text if len(text) <= width else text[: width - 1] + "…"
            style = self.style_of(status)
            if made is not None:
                layer = ",".join(f"L{n}" for n in made.layers) or "-"
                size, stored = fmt_size(made.size), fmt_size(made.compressed_size)
            else:
                layer, size, stored = "", "", ""
            self.add_row(
                Text(STATUS.get(status or "", ""), style=style),
                Text(str(r.line), justify="right"),
                Text(text, style=style if status == MISS else Style()),
                Text(layer, justify="right"),
                Text(size, justify="right"),
                Text(stored, justify="right"),
            )
        if rows:
            self.move_cursor(row=min(max(cursor, 0), len(rows) - 1))


class CachePane(Vertical):
    def __init__(self, analysis: Analysis, request: BuildSpec, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis = analysis
        self.request = request
        self.whatif: WhatIf | None = None
        self.steps: StepMap | None = None
        self.cost: RebuildCost | None = None
        self.what = ""
        self.error: str | None = None
        self.generation = 0
        self.busy = False
        self.jump = False  # after the simulation, put the cursor on the first step that misses
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static(self.describe(), id="cache-bar", markup=False)
        yield Input(placeholder="a context path that changed (Enter: simulate, Esc: clear)", id="cache-path",
                    classes="view-filter")  # fmt: skip
        yield CacheTable(id="cache-steps")
        yield Static("reading the Dockerfile and the context…", id="cache-summary")

    def describe(self) -> str:
        r = self.request
        target = f" · target {r.target}" if r.target else ""
        return visible(f"Cache: {r.dockerfile_path} · context {r.context} · {r.builder}{target}")

    def on_mount(self) -> None:
        self.load()
        # miss/hit styles come from the theme: restyle once the new theme's CSS applies
        self.watch(self.app, "theme", self.theme_changed, init=False)

    def theme_changed(self) -> None:
        self.call_after_refresh(self.refill)

    @property
    def table(self) -> CacheTable:
        return self.query_one(CacheTable)

    # -- loading --------------------------------------------------------------------------
    @work(thread=True, group="cache-load")
    def load(self) -> None:
        try:
            whatif = WhatIf(self.request)
            target = whatif.df.target_stage(self.request.target).label
            steps = map_steps(whatif.steps, target, self.analysis.image)
        except LayerscopeError as err:
            self.post_message(CacheReady(None, None, str(err)))
            return
        self.post_message(CacheReady(whatif, steps, None))

    def on_cache_ready(self, msg: CacheReady) -> None:
        self.whatif, self.steps, self.error = msg.whatif, msg.steps, msg.error
        self.refill()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width and self.whatif is not None:
            self._width = event.size.width
            self.refill()

    def refill(self) -> None:
        results = {}
        if self.cost is not None:
            results = {(s.stage, s.line): s for s in self.cost.simulation.steps}
        rows = list(self.whatif.steps) if self.whatif is not None else []
        self.table.fill(rows, self.steps, results)
        self.show_summary()

    # -- simulations ----------------------------------------------------------------------
    def simulate(self, plan: PlannedChange, jump: bool = False) -> None:
        self.jump = jump
        self.generation += 1
        self.busy = True
        self.what = plan.what
        self.show_summary()
        self.run_simulation(self.generation, plan)

    @work(thread=True, exclusive=True, group="cache-sim")
    def run_simulation(self, generation: int, plan: PlannedChange) -> None:
        try:
            cost = rebuild_cost(simulate_change(self.request, plan.change), self.analysis.image)
        except LayerscopeError as err:
            self.post_message(CacheSimulated(generation, plan.what, None, str(err)))
            return
        self.post_message(CacheSimulated(generation, plan.what, cost, None))

    def on_cache_simulated(self, msg: CacheSimulated) -> None:
        if msg.generation != self.generation:
            return
        self.busy = False
        self.cost, self.error = msg.cost, msg.error
        self.refill()
        first = msg.cost.simulation.summary.first_miss if msg.cost is not None else None
        if self.jump and first is not None:
            rows = [i for i, r in enumerate(self.table.listed) if r.line == first]
            if rows:
                self.table.move_cursor(row=rows[0])

    def ask(self, plan: PlannedChange | None, problem: str | None = None, jump: bool = False) -> None:
        if plan is not None:
            self.simulate(plan, jump)
        else:
            self.cost, self.what, self.error = None, "", problem
            self.refill()

    def step_chosen(self, row: int) -> None:
        if self.whatif is None or not 0 <= row < len(self.table.listed):
            return
        step = self.table.listed[row]
        try:
            self.ask(self.whatif.step_change(step.stage, step.line))
        except LayerscopeError as err:
            self.ask(None, str(err))

    def path_typed(self, path: str) -> None:
        if self.whatif is None or not path.strip():
            return
        try:
            self.ask(self.whatif.path_change(path), jump=True)
        except LayerscopeError as err:
            self.ask(None, str(err))

    def image_file_chosen(self, path: str, layer: int | None) -> None:
        """A file of the image (from the Files pane): the context file its COPY took it from, changed."""
        if self.whatif is None or self.steps is None:
            self.ask(None, self.error or "the Dockerfile is still being read")
            return
        made = next((m for m in self.steps.matched if layer is not None and layer in m.layers), None)
        source = self.whatif.source_of(path, made.stage, made.line) if made is not None else None
        if source is not None:
            self.ask(self.whatif.path_change(source), jump=True)
            return
        if layer is None:
            why = f"/{path}: no layer of this image holds it"
        elif made is None:
            why = f"/{path}: its layer L{layer} comes from the base image, not from a step of this Dockerfile"
        else:
            ins = next((s.instruction for s in self.whatif.steps if (s.stage, s.line) == (made.stage, made.line)), "")
            why = f"/{path} was made by {ins} (line {made.line}), not copied from the context: choose that step"
            if ins in ("COPY", "ADD"):
                why = f"/{path}: no single context file of {ins} (line {made.line}) is copied there: choose a file"
        self.ask(None, why)

    @on(DataTable.RowSelected, "#cache-steps")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.step_chosen(event.cursor_row)

    @on(DataTable.RowHighlighted, "#cache-steps")
    def row_highlighted(self) -> None:
        self.show_summary()

    @on(Input.Submitted, "#cache-path")
    def path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.path_typed(event.value)
        self.table.focus()

    # -- the summary under the table ------------------------------------------------------
    def show_summary(self) -> None:
        self.query_one("#cache-summary", Static).update(self.summary())

    def summary(self) -> Text:
        error = self.table.style_of(MISS) + Style(bold=True)
        parts: list[str | Text | tuple[str, str | Style]] = []
        if self.whatif is None and self.error is not None:
            return Text.assemble(("Cannot simulate: ", error), visible(self.error))
        if self.whatif is None:
            return Text("reading the Dockerfile and the context…")
        if self.busy:
            parts += [("Change ", "dim"), visible(self.what), "\nsimulating…"]
        elif self.error is not None:
            parts += [(visible(self.error), error)]
        elif self.cost is None:
            parts.append(INTRO)
        else:
            parts += [("Change ", "dim"), visible(self.what), "\n", visible(self.headline(self.cost))]
        step = self.highlighted()
        if step is not None and not self.busy:
            parts += ["\n", step]
        note = self.steps.note if self.steps is not None else None
        if note and not self.busy:
            parts += ["\n", (visible(note), "dim")]
        text = Text.assemble(*parts)
        text.no_wrap = False
        return text

    def headline(self, cost: RebuildCost) -> str:
        sim = cost.simulation
        missed = sim.summary.missed_steps
        if not missed:
            return "nothing rebuilds: every step hits the cache"
        layers = len(cost.layers)
        size = fmt_size(cost.bytes) if cost.bytes is not None else "? bytes"
        word = layers_stored_word(self.analysis.image.layers, cost.layers)
        stored = f" ({fmt_size(cost.compressed_bytes)} {word})" if cost.compressed_bytes is not None else ""
        return (
            f"{missed} step{'s' if missed != 1 else ''} rebuild from line {sim.summary.first_miss}: "
            f"{layers} layer{'s' if layers != 1 else ''}, {size}{stored}"
        )

    def highlighted(self) -> Text | None:
        row = self.table.cursor_row
        if not 0 <= row < len(self.table.listed):
            return None
        r = self.table.listed[row]
        parts: list[str | tuple[str, str]] = [(f"line {r.line} ", "bold"), (visible(f"{r.stage} "), "dim")]
        result = None
        if self.cost is not None:
            result = next((c.step for c in self.cost.steps if (c.step.stage, c.step.line) == (r.stage, r.line)), None)
        if result is not None:
            parts.append((result.status, "bold"))
            if result.reason:
                parts.append(visible(f": {result.reason}"))
        else:
            parts.append(visible(" ".join(r.text.split())))
        if self.steps is not None and r.stage not in self.steps.final_stages:
            parts.append(("  (a stage the image does not contain: no layer of its own here)", "dim"))
        return Text.assemble(*parts)
