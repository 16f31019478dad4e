"""What missed steps cost: the layers they produce in the image of the last build (`--image`), those layers'
bytes, and how long the steps take (a BuildKit rawjson log, or a classic image's history timestamps).

Costs are read off one reference build (the Dockerfile the image and the log come from) and carried to the
steps of another version of the Dockerfile by instruction text, then by position (stage, keyword, ordinal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from layerscope.buildcache.builders.plan import BASE, BuildInput, PlannedStep
from layerscope.buildcache.inputs.rawjson import Vertex
from layerscope.buildcache.inputs.timings import load_timings, rawjson_seconds
from layerscope.buildcache.pricing.image_history import (
    Key,
    align_chain,
    history_flavour,
    history_seconds,
    step_layers,
    target_chain,
)
from layerscope.buildcache.request import BuildSpec
from layerscope.buildcache.results import DEPENDS, MISS, NONE, CacheSummary, StepResult
from layerscope.buildfile.context import FILE
from layerscope.buildfile.stages import Dockerfile, stage_base
from layerscope.errors import UsageError
from layerscope.model import STORED, Image, layers_stored_word

RAWJSON, HISTORY_ESTIMATE = "rawjson", "history-estimate"


@dataclass(frozen=True, slots=True)
class StepCost:
    layers: tuple[int, ...] | None = None  # None: the step has no entry in the image
    seconds: float | None = None


@dataclass(frozen=True)
class CostModel:
    """Per step of one reference build: its layers in the image and its duration."""

    dockerfile: Dockerfile
    costs: dict[Key, StepCost]
    layer_bytes: dict[int, tuple[int | None, int | None]]  # layer index -> (size, compressed_size)
    seconds_source: str | None
    has_image: bool
    notes: tuple[str, ...] = ()
    stored_as: str = STORED  # the word for the image's blob bytes: compressed, or stored uncompressed (a plain tar)


def _layer_costs(
    image: Image, df: Dockerfile, target: str | None, args: dict[str, str]
) -> tuple[dict[Key, StepCost], int] | None:
    """Each step's layers (the chain's first FROM brings the base image's), and how many RUN texts agree."""
    al = align_chain(image.history, target_chain(df, target, args))
    if al is None:
        return None
    return {key: StepCost(layers) for key, layers in step_layers(image, al).items()}, al.text_matches


def _timing_fit(
    vertices: tuple[Vertex, ...], df: Dockerfile, target: str | None, args: dict[str, str]
) -> tuple[dict[Key, float], int]:
    seconds, problems = rawjson_seconds(vertices, df, args, target)
    return seconds, len(problems)


def cost_model(
    candidates: list[Dockerfile],
    target: str | None,
    args: dict[str, str],
    image: Image | None = None,
    timings: tuple[Vertex, ...] | None = None,
) -> CostModel | None:
    """Join the image's history (and the timing log's vertices) to the candidate Dockerfile they fit best (the
    first on a tie)."""
    if image is None and timings is None:
        return None
    chosen, layer_costs = candidates[0], None
    if image is not None:
        if not image.history_aligned:
            raise UsageError(f"--image {image.reference}: its history and layers do not match one to one")
        aligned = [(fit, df) for df in candidates if (fit := _layer_costs(image, df, target, args)) is not None]
        if aligned:  # the Dockerfile whose RUN commands the history repeats best
            (layer_costs, _), chosen = max(aligned, key=lambda f: f[0][1])
        else:
            raise UsageError(
                f"--image {image.reference}: its history does not end with the steps of this Dockerfile's "
                f"target stage: is it the image of this Dockerfile's last build?"
            )
    seconds: dict[Key, float] = {}
    source, notes = None, []
    if timings is not None:
        fits = [_timing_fit(timings, df, target, args) for df in [chosen, *[c for c in candidates if c is not chosen]]]
        seconds, problems = min(fits, key=lambda f: f[1])
        source = RAWJSON
        if problems:
            notes.append(f"--timings: {problems} step vertex(es) of the log match no step of the Dockerfile")
    elif image is not None and history_flavour(image.history) == "nop" and not _buildah(image):
        al = align_chain(image.history, target_chain(chosen, target, args))
        if al is not None:
            seconds, source = history_seconds(image.history, al), HISTORY_ESTIMATE
    costs: dict[Key, StepCost] = dict(layer_costs or {})
    for key, value in seconds.items():
        costs[key] = dataclasses.replace(costs.get(key, StepCost()), seconds=value)
    sizes = {} if image is None else {x.index: (x.size, x.compressed_size) for x in image.layers}
    return CostModel(chosen, costs, sizes, source if seconds or source == RAWJSON else None, image is not None,
                     tuple(notes), STORED if image is None else layers_stored_word(image.layers))  # fmt: skip


def _buildah(image: Image) -> bool:
    labels = (image.config.get("config") or {}).get("Labels") or {}
    return isinstance(labels, dict) and "io.buildah.version" in labels


def _steps(df: Dockerfile, args: dict[str, str]) -> Iterator[tuple[Key, str, str]]:
    """(key, keyword, text) of every step: FROM, a parent's ONBUILD triggers, the instructions."""
    for stage in df.stages:
        yield (stage.label, stage.from_ins.line), "FROM", stage.from_ins.original
        parent = df.find_stage(stage_base(df, stage, args), before=stage.index)
        for t in parent.instructions if parent is not None else ():
            if t.trigger is not None:
                yield (stage.label, t.line), t.trigger.keyword, t.trigger.original
        for ins in stage.instructions:
            yield (stage.label, ins.line), ins.keyword, ins.original


def match_steps(ref: Dockerfile, new: Dockerfile, args: dict[str, str]) -> dict[Key, Key]:
    """Steps of `new` -> the steps of `ref` they are: same text first, then same place (stage, keyword, n-th)."""

    def by(df: Dockerfile, text: bool) -> dict[tuple[str, str, str, int], Key]:
        out: dict[tuple[str, str, str, int], Key] = {}
        seen: dict[tuple[str, str, str], int] = {}
        for key, kw, body in _steps(df, args):
            k = (key[0], kw, " ".join(body.split()) if text else "")
            n = seen[k] = seen.get(k, -1) + 1
            out[(*k, n)] = key
        return out

    matched: dict[Key, Key] = {}
    ref_text, new_text = by(ref, True), by(new, True)
    for k, key in new_text.items():
        if k in ref_text:
            matched[key] = ref_text[k]
    used = set(matched.values())
    ref_pos, new_pos = by(ref, False), by(new, False)
    for k, key in new_pos.items():
        if key not in matched and k in ref_pos and ref_pos[k] not in used:
            matched[key] = ref_pos[k]
    return matched


def _context_bytes(step: PlannedStep, build: BuildInput) -> int | None:
    """A COPY/ADD from the context writes exactly the selected files' bytes (the layer's `size`)."""
    if step.instruction not in ("COPY", "ADD"):
        return None
    comps = [c for c in step.components if c.name == "files" and c.selection is not None]
    if len(comps) != 1 or any(c.name in ("url", "from-image") or c.name.startswith("from:") for c in step.components):
        return None
    sel = comps[0].selection
    assert sel is not None
    entries = build.context.entries
    return sum(entries[p].size for p in (sel.origins or {}).values() if p in entries and entries[p].type == FILE)


def rebuilt_indexes(steps: list[StepResult]) -> list[int]:
    """Indexes of the steps that re-run, and of the FROM whose stage misses on a changed base image."""
    out = [i for i, s in enumerate(steps) if s.status == MISS]
    base_stages = {s.stage for s in steps if s.status == MISS and s.cause is not None and s.cause.kind == BASE}
    out += [i for i, s in enumerate(steps) if s.status == NONE and s.instruction == "FROM" and s.stage in base_stages]
    return sorted(out)


def apply_costs(
    model: CostModel | None,
    build: BuildInput,
    steps: list[StepResult],
    planned: list[PlannedStep],
) -> tuple[list[StepResult], CacheSummary, list[str]]:
    """Steps with their costs, and the summary of what the missed ones cost."""
    missed = [s for s in steps if s.status == MISS]
    summary = CacheSummary(
        first_miss=min((s.line for s in missed), default=None),
        missed_steps=len(missed),
        depends_steps=sum(1 for s in steps if s.status == DEPENDS),
    )
    if model is None:
        return steps, summary, []
    args = build.build_args
    chain_stages = {c.stage for c in target_chain(build.dockerfile, build.target, args)}
    match = match_steps(model.dockerfile, build.dockerfile, args)
    out, notes, estimated = [], [], []
    for step, plan in zip(steps, planned, strict=True):
        ref = match.get((step.stage, step.line))
        cost = model.costs.get(ref) if ref is not None else None
        layers = cost.layers if cost is not None else None
        nbytes = comp = None
        if model.has_image and layers is not None:
            sizes = [model.layer_bytes.get(i, (None, None)) for i in layers]
            nbytes = None if any(s is None for s, _ in sizes) else sum(s or 0 for s, _ in sizes)
            comp = None if any(c is None for _, c in sizes) else sum(c or 0 for _, c in sizes)
        elif model.has_image and step.stage in chain_stages and step.status != "skipped":
            nbytes = _context_bytes(plan, build)
            if nbytes is not None:
                estimated.append(step.line)
        seconds = cost.seconds if cost is not None else None
        out.append(dataclasses.replace(step, layers=layers, bytes=nbytes, compressed_bytes=comp, seconds=seconds))
    rebuilt = [out[i] for i in rebuilt_indexes(out)]
    if model.has_image:
        layer_set = {i for s in rebuilt for i in s.layers or ()}
        new_layers = [s for s in rebuilt if s.layers is None and s.bytes is not None]
        sizes = [model.layer_bytes.get(i, (None, None)) for i in layer_set]
        summary = dataclasses.replace(
            summary,
            rebuilt_layers=len(layer_set) + len(new_layers),
            rebuilt_bytes=sum(s or 0 for s, _ in sizes) + sum(s.bytes or 0 for s in new_layers),
            rebuilt_compressed_bytes=sum(c or 0 for _, c in sizes),
        )
        if any(s.line in estimated for s in rebuilt):
            lines = ", ".join(str(s.line) for s in rebuilt if s.line in estimated)
            notes.append(f"line(s) {lines}: no layer of the image is this step's; its bytes are the context files "
                         "it copies, and its bytes as stored (the blob) are not counted")  # fmt: skip
        unknown = [s.line for s in rebuilt if s.layers is None and s.bytes is None and s.stage in chain_stages]
        if unknown:
            notes.append(f"line(s) {', '.join(map(str, unknown))}: no layer of the image is this step's: "
                         "its bytes are not counted")  # fmt: skip
    timed = [s.seconds for s in rebuilt if s.seconds is not None]
    if model.seconds_source is not None and (timed or not rebuilt):
        summary = dataclasses.replace(summary, estimated_seconds=round(sum(timed), 3),
                                      seconds_source=model.seconds_source)  # fmt: skip
        untimed = [str(s.line) for s in rebuilt if s.seconds is None]
        if untimed:
            notes.append(f"line(s) {', '.join(untimed)}: no duration in the timing source: not counted")
    return out, summary, notes


def load_costs(req: BuildSpec, candidates: list[Dockerfile], args: dict[str, str]) -> CostModel | None:
    """The image (--image) and the timing log (--timings) joined to the steps of the first Dockerfile they fit."""
    image = None
    if req.image is not None:
        from layerscope.api import open_image  # the image floor: below this package, loaded only when asked

        image = open_image(req.image)
    return cost_model(candidates, req.target, args, image, load_timings(req.timings))
