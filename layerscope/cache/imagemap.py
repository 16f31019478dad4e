"""Which layers of a built image each Dockerfile step produced, and what rebuilding the missed steps costs.

The image holds the final stage's steps only (and those of the stages it is built FROM). Its history lists one
entry per instruction, after the base image's entries, and every entry without `empty_layer` owns the next layer
(cache-rules.md §7). So the final chain's instructions are matched with the history from the end, by keyword
(§8 gives each builder's `created_by` form): the base image's entries are whatever is left above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from layerscope.model import Analysis, Image

if TYPE_CHECKING:
    import pandas as pd

    from layerscope.cache.model import CacheSimulation, StepResult

# Dockerfile keywords (as buildfile.instructions.KEYWORDS; not imported, so that this module loads no parser).
KEYWORDS = frozenset(
    {
        *("FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME"),
        *("USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"),
    }
)
NO_ENTRY = frozenset({"ONBUILD"})  # BuildKit records no history entry for it; classic does
NOP = "/bin/sh -c #(nop)"


class StepLike(Protocol):
    @property
    def stage(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def instruction(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class StepLayers:
    """What one step left in the image: its history entry and the layer it owns (none for config steps)."""

    stage: str
    line: int
    history: int  # index into Image.history
    layers: tuple[int, ...]
    size: int | None  # sum of the layers' `size` (inspect's figure); None when unknown
    compressed_size: int | None


@dataclass(frozen=True, slots=True)
class StepMap:
    final_stages: tuple[str, ...]  # the target stage and the stages it is built FROM, base-most first
    matched: tuple[StepLayers, ...]
    unmatched: int  # steps of the final stages no history entry was found for
    note: str | None  # why the mapping is partial, in words

    def of(self, stage: str, line: int) -> StepLayers | None:
        for m in self.matched:
            if m.stage == stage and m.line == line:
                return m
        return None


def history_keyword(created_by: str | None) -> str | None:
    """The instruction a history entry records, from any builder's `created_by` form."""
    text = " ".join((created_by or "").split())
    if not text:
        return None
    if text.startswith(NOP):
        rest = text[len(NOP) :].strip()
        return rest.split(" ", 1)[0].upper() if rest else None
    if text.startswith(("/bin/sh -c ", "|")):  # classic and buildah RUN, valued args first
        return "RUN"
    word = text.split(" ", 1)[0].upper()
    return word if word in KEYWORDS else "RUN"  # classic's exec-form RUN records the command alone


def _from_base(text: str) -> str:
    words = [w for w in text.split()[1:] if not w.startswith("--")]
    return words[0].lower() if words else ""


def final_stages(steps: Sequence[StepLike], target: str | None) -> tuple[str, ...]:
    """The target stage and the stages it is built FROM, base-most first (a stage's FROM names an earlier one)."""
    order: list[str] = []
    base: dict[str, str] = {}
    for s in steps:
        if s.stage not in order:
            order.append(s.stage)
        if s.instruction == "FROM" and s.stage not in base:
            base[s.stage] = _from_base(s.text)
    if not order:
        return ()
    chain = [target if target in order else order[-1]]
    while True:
        parent = base.get(chain[0], "")
        earlier = order[: order.index(chain[0])]
        found = parent if parent in earlier else None
        if parent.isdigit() and int(parent) < len(earlier):  # FROM 0: a stage by index
            found = earlier[int(parent)]
        if found is None or found in chain:
            return tuple(chain)
        chain.insert(0, found)


def map_steps(steps: Sequence[StepLike], target: str | None, image: Image) -> StepMap:
    """Match the final stages' steps with `image`'s history entries, from the last one up."""
    chain = final_stages(steps, target)
    mine = [s for s in steps if s.stage in chain and s.instruction != "FROM"]
    history = image.history
    by_index = {la.index: la for la in image.layers}
    matched: list[StepLayers] = []
    i, j = len(mine) - 1, len(history) - 1
    while i >= 0 and j >= 0:
        step, entry = mine[i], history[j]
        kw = history_keyword(entry.created_by)
        if kw == step.instruction:
            layers = () if entry.layer_index is None else (entry.layer_index,)
            sizes = [by_index[n].size for n in layers if n in by_index]
            stored = [by_index[n].compressed_size for n in layers if n in by_index]
            matched.append(
                StepLayers(
                    step.stage,
                    step.line,
                    entry.index,
                    layers,
                    None if None in sizes else sum(s or 0 for s in sizes),
                    None if None in stored else sum(s or 0 for s in stored),
                )
            )
            i, j = i - 1, j - 1
        elif step.instruction in NO_ENTRY:
            i -= 1
        elif not matched and kw == "LABEL":  # a builder's --label, appended after the last instruction
            j -= 1
        else:
            break
    unmatched = sum(1 for s in mine[: i + 1] if s.instruction not in NO_ENTRY)
    note = None
    if unmatched:
        at = mine[i]
        note = (
            f"the image's history does not match the Dockerfile at line {at.line} ({at.instruction}) and above: "
            f"{unmatched} step(s) of the final stage have no layer in the image"
        )
    elif not image.history_aligned:
        note = "the image's history and layers could not be aligned: layer sizes per step are uncertain"
    return StepMap(chain, tuple(reversed(matched)), unmatched, note)


@dataclass(frozen=True, slots=True)
class StepCost:
    step: StepResult
    layers: StepLayers | None  # None: its stage is not in the image, or no history entry matched

    @property
    def rebuilt(self) -> bool:
        return self.step.status == "miss"


@dataclass(frozen=True, slots=True)
class RebuildCost:
    """A cache simulation priced with the image of the last build."""

    simulation: CacheSimulation
    steps: tuple[StepCost, ...]  # every step of the simulation, in order
    layers: tuple[int, ...]  # the image's layers that the missed steps produce
    bytes: int | None  # their `size` (as inspect reports it); None when a size is unknown
    compressed_bytes: int | None  # what a push sends again
    final_stages: tuple[str, ...]
    note: str | None

    @property
    def missed(self) -> tuple[StepCost, ...]:
        return tuple(c for c in self.steps if c.rebuilt)

    def steps_df(self) -> pd.DataFrame:
        """One row per step: stage, line, instruction, text, status, reason, layers, size, compressed_size."""
        from layerscope import frames

        return frames.rebuild_df(self)


def rebuild_cost(sim: CacheSimulation, image: Image | Analysis) -> RebuildCost:
    """Which layers of `image` (the last build) the simulation's missed steps produce, and their bytes."""
    img = image.image if isinstance(image, Analysis) else image
    mapping = map_steps(sim.steps, sim.target, img)
    costs = tuple(StepCost(s, mapping.of(s.stage, s.line)) for s in sim.steps)
    rebuilt = [c.layers for c in costs if c.rebuilt and c.layers is not None]
    layers = tuple(sorted({n for m in rebuilt for n in m.layers}))
    sizes = [m.size for m in rebuilt]
    stored = [m.compressed_size for m in rebuilt]
    return RebuildCost(
        simulation=sim,
        steps=costs,
        layers=layers,
        bytes=None if None in sizes else sum(s or 0 for s in sizes),
        compressed_bytes=None if None in stored else sum(s or 0 for s in stored),
        final_stages=mapping.final_stages,
        note=mapping.note,
    )
