"""The Dockerfile build a package bump is simulated on (`DockerfileBuild`: read once, priced by the image of the
last build), one simulated change priced (`Priced`), and the figure of each package's bump (`from_dockerfile`).
`bump.py` (the figures of every package) and `split.py` (the installs worth splitting) both build on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from layerscope.buildcache.builders.plan import BuildInput
from layerscope.buildcache.builders.run import plan_builds
from layerscope.buildcache.builders.table import image_store
from layerscope.buildcache.features.pins import BASE_CHANGED, CHANGED, EDITED, Change, Pins
from layerscope.buildcache.inputs.builds import context_notes, mark_changed
from layerscope.buildcache.inputs.edits import edit_lines
from layerscope.buildcache.inputs.timings import load_timings
from layerscope.buildcache.inputs.whatif import WhatIf
from layerscope.buildcache.pricing.costs import CostModel, apply_costs, cost_model, rebuilt_indexes
from layerscope.buildcache.pricing.image_history import Key, align_chain, target_chain
from layerscope.buildcache.request import BuildSpec
from layerscope.buildcache.results import CacheSummary, StepResult
from layerscope.buildfile.context import ContextTree
from layerscope.buildfile.stages import Dockerfile
from layerscope.errors import UsageError
from layerscope.model import Image, Package, PackageRebuild, PackageReport


@dataclass(frozen=True, slots=True)
class Priced:
    """One simulated change: its steps with their costs, the summary, and the image layers made again."""

    steps: tuple[StepResult, ...]
    summary: CacheSummary
    layers: tuple[int, ...]
    notes: tuple[str, ...]

    def step(self, key: Key) -> StepResult | None:
        return next((s for s in self.steps if (s.stage, s.line) == key), None)


class DockerfileBuild:
    """The Dockerfile and context the image was built from, read once, with the image's layers (and the timing
    log's durations) joined to its steps."""

    def __init__(self, request: BuildSpec, image: Image) -> None:
        self.request = request
        self.image = image
        self.whatif = WhatIf(request)
        self.pins = Pins(self.whatif)
        args = dict(request.build_args)
        if not image.history_aligned:
            raise UsageError(f"{image.reference}: its history and layers do not match one to one")
        if align_chain(image.history, target_chain(self.whatif.df, request.target, args)) is None:
            raise UsageError(
                f"--dockerfile {request.dockerfile_path}: the image's history does not end with the steps of its "
                f"target stage: is {image.reference} this Dockerfile's last build?"
            )
        model = cost_model([self.whatif.df], request.target, args, image, load_timings(request.timings))
        assert model is not None
        self.model: CostModel = model
        self.owner: dict[int, Key] = {n: key for key, c in model.costs.items() for n in c.layers or ()}
        self._priced: dict[Change, Priced] = {}

    def simulate(self, change: Change, df: Dockerfile | None = None, tree: ContextTree | None = None) -> Priced:
        """The change simulated on the Dockerfile (or a rewrite of it), priced with the image."""
        rewritten = df is not None or tree is not None
        if not rewritten and change in self._priced:
            return self._priced[change]
        req = self.request
        df = df or self.whatif.df
        tree = tree or self.whatif.tree
        contexts = self.whatif.contexts
        old_df, old_tree, old_contexts, generation = df, tree, contexts, {}
        if change.kind == EDITED:
            old_df = edit_lines(df, tuple(int(v) for v in change.values))
        elif change.kind == CHANGED:
            in_main = tuple(v for v in change.values if not os.path.isabs(v))
            old_tree = tree.with_files({})
            old_tree.changed.update(in_main)
            named = tuple(v for v in change.values if os.path.isabs(v))  # files of directory contexts
            if named:
                old_tree, old_contexts = mark_changed(old_tree, contexts, named, req.context)
        elif change.kind == BASE_CHANGED:  # an image, or an image --build-context (keyed "context:NAME")
            keys = ["context:" + v if v in contexts else v for v in change.values]
            generation = dict.fromkeys(keys, "previous")
        reproducible = frozenset(req.reproducible)
        args, store = dict(req.build_args), image_store(req.builder, req.image_store) or "containerd"
        old = BuildInput(old_df, old_tree, args, req.target, generation, store, reproducible, old_contexts)
        new = BuildInput(df, tree, args, req.target, {}, store, reproducible, contexts)
        planned, results = plan_builds([old], new, req.builder)
        steps, summary, notes = apply_costs(self.model, new, results, planned)
        layers = tuple(sorted({n for i in rebuilt_indexes(steps) for n in steps[i].layers or ()}))
        priced = Priced(tuple(steps), summary, layers, tuple(notes))
        if not rewritten:
            self._priced[change] = priced
        return priced


def figure(priced: Priced, line: int | None, text: str, change: str, shared: Shared) -> PackageRebuild:
    s = priced.summary
    return PackageRebuild(line, text, priced.layers, s.rebuilt_bytes, s.rebuilt_compressed_bytes, s.estimated_seconds,
                          s.seconds_source, shared[0], change, shared[1])  # fmt: skip


# The names listed per package of the other packages its step installed: all of them would
# grow with the square of a step's packages (60,000 dpkg stanzas in one layer: 2 GB and out
# of memory); `shared_count` says how many there are.
SHARED_SHOWN = 100
Shared = tuple[tuple[str, ...], int]  # (the first SHARED_SHOWN other names, sorted; how many others)


def shared_names(members: list[int], packages: tuple[Package, ...]) -> dict[int, Shared]:
    ranked = sorted((packages[i].name, i) for i in members)
    head = ranked[: SHARED_SHOWN + 1]  # enough for any member once it leaves itself out
    others = len(members) - 1
    return {i: (tuple(n for n, j in head if j != i)[:SHARED_SHOWN], others) for i in members}


def install_groups(packages: tuple[Package, ...], owner: dict[int, Key] | None) -> dict[object, list[int]]:
    """Package indexes by the step (or, through the history alone, the layer) that installed them."""
    out: dict[object, list[int]] = {}
    for i, p in enumerate(packages):
        if p.layer is None:
            continue
        key = p.layer if owner is None else owner.get(p.layer)
        if key is not None:
            out.setdefault(key, []).append(i)
    return out


@dataclass(frozen=True, slots=True)
class PackageRebuilds:
    """Per package index: its figure, and the change simulated for it."""

    rebuilds: dict[int, PackageRebuild]
    changes: dict[int, Change]
    groups: dict[Key, list[int]]
    notes: list[str]


def from_dockerfile(build: DockerfileBuild, report: PackageReport) -> PackageRebuilds:
    out: dict[int, PackageRebuild] = {}
    changes: dict[int, Change] = {}
    groups: dict[Key, list[int]] = {}
    notes: list[str] = []
    for key, members in install_groups(report.packages, build.owner).items():
        assert isinstance(key, tuple)
        groups[key] = members
        _, ins = build.whatif.find(*key)
        text = " ".join(ins.original.split())
        for i, shared in shared_names(members, report.packages).items():
            change = build.pins.change(key, report.packages[i].name)
            if change is None:
                continue
            priced = build.simulate(change)
            notes += [n for n in priced.notes if n not in notes]
            out[i], changes[i] = figure(priced, key[1], text, change.what, shared), change
    named = context_notes(build.whatif.df, dict(build.request.build_args), build.whatif.names)
    return PackageRebuilds(out, changes, groups, [*build.model.notes, *named, *notes])
