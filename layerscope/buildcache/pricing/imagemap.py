"""Which layers of a built image each Dockerfile step produced, and what rebuilding the missed steps costs.

The image holds the final stage's steps only (and those of the stages it is built FROM). The steps are matched
with its history by image_history.py, the one mechanism `cache --image` uses too; here the steps are known by
their text only (a simulation's, or those explore's Cache view lists), and a history that stops agreeing part
way is kept as far as it agrees, with a note saying where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope import renderhooks
from layerscope.buildcache.pricing.image_history import (
    NO_ENTRY,
    StepLike,
    align_chain_partial,
    final_stages,
    layer_sizes,
    listed_chain,
    parse_created_by,
    step_layers,
)
from layerscope.model import Analysis, Image

if TYPE_CHECKING:
    import pandas as pd

    from layerscope.buildcache.results import CacheSimulation, StepResult

__all__ = ["RebuildCost", "StepLayers", "StepLike", "StepMap", "final_stages", "history_keyword", "map_steps",
           "rebuild_cost"]  # fmt: skip


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
    return parse_created_by(created_by, None).keyword or None


def map_steps(steps: Sequence[StepLike], target: str | None, image: Image) -> StepMap:
    """Match the final stages' steps with `image`'s history entries, from the last one up."""
    chain = final_stages(steps, target)
    al = align_chain_partial(image.history, listed_chain(steps, chain))
    layers = step_layers(image, al, base=False)
    matched = []
    for (stage, line), index in sorted(al.entries.items(), key=lambda kv: kv[1]):
        size, stored = layer_sizes(image, layers[(stage, line)])
        matched.append(StepLayers(stage, line, index, layers[(stage, line)], size, stored))
    missing = [s for s in al.unmatched if s.keyword not in NO_ENTRY]
    note = None
    if missing:
        at = al.unmatched[-1]
        note = (
            f"the image's history does not match the Dockerfile at line {at.line} ({at.keyword}) and above: "
            f"{len(missing)} step(s) of the final stage have no layer in the image"
        )
    elif not image.history_aligned:
        note = "the image's history and layers could not be aligned: layer sizes per step are uncertain"
    return StepMap(chain, tuple(matched), len(missing), note)


@dataclass(frozen=True, slots=True)
class MappedStep:
    step: StepResult
    layers: StepLayers | None  # None: its stage is not in the image, or no history entry matched

    @property
    def rebuilt(self) -> bool:
        return self.step.status == "miss"


@dataclass(frozen=True, slots=True)
class RebuildCost:
    """A cache simulation priced with the image of the last build."""

    simulation: CacheSimulation
    steps: tuple[MappedStep, ...]  # every step of the simulation, in order
    layers: tuple[int, ...]  # the image's layers that the missed steps produce
    bytes: int | None  # their `size` (as inspect reports it); None when a size is unknown
    compressed_bytes: int | None  # what a push sends again
    final_stages: tuple[str, ...]
    note: str | None

    @property
    def missed(self) -> tuple[MappedStep, ...]:
        return tuple(c for c in self.steps if c.rebuilt)

    def steps_df(self) -> pd.DataFrame:
        """One row per step: stage, line, instruction, text, status, reason, layers, size, compressed_size."""
        return renderhooks.frame("rebuild_df", self)


def rebuild_cost(sim: CacheSimulation, image: Image | Analysis) -> RebuildCost:
    """Which layers of `image` (the last build) the simulation's missed steps produce, and their bytes."""
    img = image.image if isinstance(image, Analysis) else image
    mapping = map_steps(sim.steps, sim.target, img)
    costs = tuple(MappedStep(s, mapping.of(s.stage, s.line)) for s in sim.steps)
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
