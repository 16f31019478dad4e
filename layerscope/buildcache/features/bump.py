"""What bumping a package's pin costs (`packages --json`, `rebuild`): the step whose layer installed the version
now present, and every step the change invalidates after it, with their layers' bytes and the steps' seconds.

Through the image history alone, the step is the history entry of the package's layer, and it and everything
after it rebuild (every later step of a single chain misses once its parent does), from the COPY of the
requirements file it reads where BuildKit's history names that file. With the Dockerfile and context,
the pin is found (cache/pins.py) and its change simulated by the builder's cache model: the simulation says
what else misses (a later `COPY --link`, a stage the image does not contain), and the image of the last build
(this one) and a timing log price the missed steps, as `cache --image --timings` does. Packages whose pins
change the same input share one simulation, and one figure.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, replace

from layerscope.buildfile.context import ContextTree
from layerscope.buildfile.stages import Dockerfile
from layerscope.cache.builders import image_store
from layerscope.cache.costs import CostModel, apply_costs, cost_model, rebuilt_indexes
from layerscope.cache.edits import edit_lines
from layerscope.cache.history import Key, align_chain, layer_sizes, parse_created_by, target_chain
from layerscope.cache.model import CacheSummary, StepResult
from layerscope.cache.pins import BASE, CHANGED, EDITED, REQUIREMENT_LIKE, Change, Pins
from layerscope.cache.plan import BuildInput
from layerscope.cache.rewrite import shell_commands
from layerscope.cache.simulate import CacheRequest, context_notes, mark_changed, plan_builds
from layerscope.cache.whatif import WhatIf, dockerfile_path
from layerscope.errors import LayerscopeError, UsageError
from layerscope.model import Analysis, HistoryEntry, Image, Package, PackageRebuild, PackageReport, SplitAdvice
from layerscope.readfile import TIMINGS_LIMIT, read_text

HISTORY_ONLY = (
    "rebuild per package: from the image history alone (no --dockerfile): the step that made the package's layer "
    "(or the COPY of the requirements file it reads, where the history names it) and every later step rebuild; "
    "the base image's layers cannot be told apart, and no seconds are given"
)


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

    def __init__(self, request: CacheRequest, image: Image) -> None:
        self.request = request
        self.image = image
        self.whatif = WhatIf(request)
        self.pins = Pins(self.whatif)
        args = dict(request.build_args)
        if not image.history_aligned:
            raise UsageError(f"{image.reference}: its history and layers do not match one to one")
        if align_chain(image.history, target_chain(self.whatif.df, request.target, args)) is None:
            raise UsageError(
                f"--dockerfile {dockerfile_path(request)}: the image's history does not end with the steps of its "
                f"target stage: is {image.reference} this Dockerfile's last build?"
            )
        model = cost_model([self.whatif.df], request.target, args, image, _read(request.timings))
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
        elif change.kind == BASE:  # an image, or an image --build-context (keyed "context:NAME")
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


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    return read_text(path, "--timings", TIMINGS_LIMIT)


def figure(priced: Priced, line: int | None, text: str, change: str, shared: tuple[str, ...]) -> PackageRebuild:
    s = priced.summary
    return PackageRebuild(line, text, priced.layers, s.rebuilt_bytes, s.rebuilt_compressed_bytes, s.estimated_seconds,
                          s.seconds_source, shared, change)  # fmt: skip


def _shared(members: list[int], packages: tuple[Package, ...]) -> dict[int, tuple[str, ...]]:
    names = {i: packages[i].name for i in members}
    return {i: tuple(sorted(n for j, n in names.items() if j != i)) for i in members}


def _groups(packages: tuple[Package, ...], owner: dict[int, Key] | None) -> dict[object, list[int]]:
    """Package indexes by the step (or, through the history alone, the layer) that installed them."""
    out: dict[object, list[int]] = {}
    for i, p in enumerate(packages):
        if p.layer is None:
            continue
        key = p.layer if owner is None else owner.get(p.layer)
        if key is not None:
            out.setdefault(key, []).append(i)
    return out


def _pins_copied(history: tuple[HistoryEntry, ...], at: int) -> int | None:
    """The history index of the COPY that brought the requirements file the RUN at `at` reads, if one did.

    BuildKit's history keeps a COPY's source names (classic's has `file:<digest>`): a RUN whose command names one
    of them, a requirements file, changes with it.
    """
    run = parse_created_by(history[at].created_by, history[at].comment)
    if run.keyword != "RUN":
        return None
    words = {posixpath.basename(w.strip("'\"")) for c in shell_commands(run.text[4:]) for w in c}
    for index in range(at - 1, -1, -1):
        step = parse_created_by(history[index].created_by, history[index].comment)
        if step.keyword not in ("COPY", "ADD") or step.flavour != "buildkit":
            continue
        args = [w for w in step.body.split() if not w.startswith("--")]
        if any(w.startswith("--from=") for w in step.body.split()):
            continue
        names = {posixpath.basename(a.rstrip("/")) for a in args[:-1]}
        if any(n in words and REQUIREMENT_LIKE.search(n) for n in names):
            return index
    return None


def from_history(a: Analysis, report: PackageReport) -> dict[int, PackageRebuild]:
    img = a.image
    entry = {h.layer_index: h for h in img.history if h.layer_index is not None}
    out = {}
    for layer, members in _groups(report.packages, None).items():
        assert isinstance(layer, int)
        h = entry.get(layer)
        text = parse_created_by(h.created_by, h.comment).text if h is not None else ""
        first, change = layer, f"the step that made layer {layer} changes: it and every later step rebuild"
        copy = _pins_copied(img.history, h.index) if h is not None else None
        copied = img.history[copy].layer_index if copy is not None else None
        if copy is not None and copied is not None:
            pins = parse_created_by(img.history[copy].created_by, None).text
            first, change = copied, f"the file it reads, copied by `{pins}` (layer {copied}), changes"
        layers = tuple(range(first, len(img.layers)))
        size, stored = layer_sizes(img, layers)
        for i, shared in _shared(members, report.packages).items():
            out[i] = PackageRebuild(None, text, layers, size, stored, None, None, shared, change)
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
    for key, members in _groups(report.packages, build.owner).items():
        assert isinstance(key, tuple)
        groups[key] = members
        _, ins = build.whatif.find(*key)
        text = " ".join(ins.original.split())
        for i, shared in _shared(members, report.packages).items():
            change = build.pins.change(key, report.packages[i].name)
            if change is None:
                continue
            priced = build.simulate(change)
            notes += [n for n in priced.notes if n not in notes]
            out[i], changes[i] = figure(priced, key[1], text, change.what, shared), change
    named = context_notes(build.whatif.df, dict(build.request.build_args), build.whatif.names)
    return PackageRebuilds(out, changes, groups, [*build.model.notes, *named, *notes])


def package_costs(a: Analysis, request: CacheRequest | None = None) -> Analysis:
    """The analysis with every package's `rebuild` (and, with a Dockerfile, the installs worth splitting)."""
    report = a.packages
    if report is None:
        return a
    advice: tuple[SplitAdvice, ...] = ()
    if request is None:
        rebuilds, notes = from_history(a, report), [HISTORY_ONLY]
    else:
        from layerscope.cache.split import split_advice

        build = DockerfileBuild(request, a.image)
        found = from_dockerfile(build, report)
        rebuilds, notes = found.rebuilds, found.notes
        advice = tuple(split_advice(build, report, found))
    packages = tuple(replace(p, rebuild=rebuilds.get(i)) for i, p in enumerate(report.packages))
    new = replace(report, packages=packages, rebuild_advice=advice, notes=(*report.notes, *notes))
    return replace(a, packages=new)


def costs_or_history(a: Analysis, request: CacheRequest | None) -> Analysis:
    """`package_costs` for views that show what they can (explore, report): through the image history alone
    when the Dockerfile does not fit the image, with a note saying why."""
    if request is None:
        return package_costs(a)
    try:
        return package_costs(a, request)
    except LayerscopeError as err:
        costed = package_costs(a)
        if costed.packages is None:
            return costed
        note = f"rebuild per package: the Dockerfile was not used: {err}"
        return replace(costed, packages=replace(costed.packages, notes=(*costed.packages.notes, note)))
