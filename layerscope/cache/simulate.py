"""`simulate_cache`: build the earlier and the current build from the change inputs, walk both with one
builder model (the earlier build fills the cache records), and explain every step of the current one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from layerscope.buildfile.context import DIR, FILE, ContextTree, Entry, load_ignore
from layerscope.buildfile.stages import Dockerfile, load_dockerfile, stage_base
from layerscope.cache import edits, gitsrc
from layerscope.cache.buildah import BuildahWalker
from layerscope.cache.buildkit import BuildKitWalker
from layerscope.cache.classic import ClassicWalker
from layerscope.cache.costs import CostModel, apply_costs, cost_model
from layerscope.cache.explain import explain
from layerscope.cache.model import CacheSimulation, StepResult
from layerscope.cache.plan import BuildInput, PlannedStep, Records
from layerscope.cache.walk import Walker
from layerscope.errors import BadReferenceError, LayerscopeError, UnsafeInputError, UsageError

WALKERS: dict[str, type[Walker]] = {"buildkit": BuildKitWalker, "classic": ClassicWalker, "buildah": BuildahWalker}


@dataclass(frozen=True)
class CacheRequest:
    context: str = "."
    dockerfile: str | None = None  # default: CONTEXT/Dockerfile
    target: str | None = None
    old_target: str | None = None  # the earlier build's --target, when it differs (default: target)
    builder: str = "buildkit"
    build_args: dict[str, str] = field(default_factory=dict)
    image_store: str = "containerd"
    against: str | None = None  # the context as it was at the last build
    git: str | None = None  # REV (against the working tree) or REV1..REV2
    changed: tuple[str, ...] = ()
    edited: tuple[int, ...] = ()  # lines of instructions whose text differs from the last build's
    old_build_args: dict[str, str | None] = field(default_factory=dict)  # None: not set at the last build
    base_changed: tuple[str, ...] = ()  # image names; "*" for every base image
    reproducible: tuple[str, ...] = ()  # stages or lines whose outputs are identical for identical inputs
    image: str | None = None  # the image of the last build: the layers and bytes of each step
    timings: str | None = None  # a BuildKit --progress=rawjson log: each step's duration
    git_log: int | None = None  # replay the last N commits
    parent_only: bool = False  # replay: each commit against its parent's build alone
    advise: bool = False  # replay: propose a rewrite and replay it too


def _inside(path: str, root: str) -> str | None:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return None if rel == ".." or rel.startswith("../") else rel.replace(os.sep, "/")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as err:
        raise BadReferenceError(f"cannot read Dockerfile {path}: {err.strerror}") from None


def _dockerfile_text(tree: ContextTree, rel: str | None, fallback: str) -> str:
    if rel is not None and rel in tree.entries:
        return tree.read(rel).decode("utf-8", "replace")
    return fallback


def _mark_changed(new: ContextTree, paths: tuple[str, ...], context: str) -> ContextTree:
    """The earlier context for `--changed`: the same tree, the listed paths with unknown (other) content."""
    old = ContextTree(dict(new.entries), new.read, new.digest)
    for raw in paths:
        rel = _inside(raw if os.path.isabs(raw) else os.path.join(context, raw), context)
        if rel is None:
            raise UnsafeInputError(f"--changed {raw}: the path is outside the context {context}")
        rel = rel.strip("/")
        if rel not in old.entries:  # deleted since the last build
            old.entries[rel] = Entry(rel, FILE, 0o644)
        old.changed.add(rel)
        if old.entries[rel].type == DIR:
            old.changed.update(p for p in old.entries if p.startswith(rel + "/"))
    return old


def _matches_image(given: str, image: str) -> bool:
    def norm(name: str) -> str:
        for prefix in ("docker.io/library/", "docker.io/", "library/"):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        return name

    g, i = norm(given), norm(image)
    return g == i or (":" not in g and "@" not in g and i.split("@")[0].rsplit(":", 1)[0] == g)


def _base_images(df: Dockerfile, args: dict[str, str]) -> set[str]:
    names = {stage_base(df, s, args) for s in df.stages}
    return {n for n in names if n != "scratch" and df.find_stage(n) is None}


def _trees(req: CacheRequest, rel: str | None) -> tuple[ContextTree, ContextTree, str]:
    ctx = req.context
    if req.against is not None and req.git is not None:
        raise UsageError("--against and --git are two ways to say the same thing: give one")
    if req.git is not None:
        gitsrc.repo_prefix(ctx)
        if ".." in req.git:
            first, second = req.git.split("..", 1)
            return gitsrc.tree_at(ctx, first), gitsrc.tree_at(ctx, second), f"git {first}..{second}"
        return gitsrc.tree_at(ctx, req.git), gitsrc.worktree(ctx), f"git {req.git} against the working tree"
    new = ContextTree.from_dir(ctx)
    if req.against is not None:
        return ContextTree.from_dir(req.against), new, f"against {req.against}"
    return new, new, ""


def _builds(req: CacheRequest) -> tuple[BuildInput, BuildInput, str]:
    df_path = req.dockerfile or os.path.join(req.context, "Dockerfile")
    rel = _inside(df_path, req.context)
    old_tree, new_tree, change = _trees(req, rel)
    disk_text = _read(df_path) if req.git is None or ".." not in req.git or rel is None else ""
    new_text = _dockerfile_text(new_tree, rel, disk_text) if new_tree is not old_tree else disk_text
    if req.changed:
        old_tree = _mark_changed(new_tree if old_tree is new_tree else old_tree, req.changed, req.context)
        change = ", ".join(filter(None, [change, "changed: " + " ".join(req.changed)]))
    old_text = _dockerfile_text(old_tree, rel, new_text) if req.against or req.git else new_text
    for tree in (old_tree, new_tree):
        load_ignore(tree, rel, None if rel is not None else os.path.abspath(df_path), req.builder != "classic")
    new_df = load_dockerfile(new_text)
    try:
        old_df = load_dockerfile(old_text) if old_text != new_text else new_df
    except LayerscopeError as err:
        raise type(err)(f"the earlier Dockerfile: {err}") from None
    if req.edited:
        old_df = edits.edit_lines(old_df, req.edited)
        change = ", ".join(filter(None, [change, "edited: " + " ".join(f"line {n}" for n in sorted(req.edited))]))
    old_args = dict(req.build_args)
    for key, value in req.old_build_args.items():
        if value is None:
            old_args.pop(key, None)
        else:
            old_args[key] = value
    if req.old_build_args:
        change = ", ".join(filter(None, [change, "build args: " + " ".join(sorted(req.old_build_args))]))
    generation: dict[str, str] = {}
    if req.base_changed:
        images = _base_images(old_df, old_args) | _base_images(new_df, req.build_args)
        for given in req.base_changed:
            hits = [i for i in images if given == "*" or _matches_image(given, i)]
            if not hits:
                raise UsageError(f"--base-changed {given}: no stage of the Dockerfile is built FROM that image")
            generation.update(dict.fromkeys(hits, "previous"))
        change = ", ".join(filter(None, [change, "base image: " + " ".join(sorted(generation))]))
    if not change:
        raise UsageError("nothing changed: give --against, --git, --changed, --old-build-arg or --base-changed")
    common = {"image_store": req.image_store, "reproducible": frozenset(req.reproducible)}
    old_target = req.target if req.old_target is None else req.old_target
    old = BuildInput(old_df, old_tree, old_args, old_target, base_generation=generation, **common)  # type: ignore[arg-type]
    new = BuildInput(new_df, new_tree, dict(req.build_args), req.target, **common)  # type: ignore[arg-type]
    return old, new, change


def plan_builds(
    old_builds: list[BuildInput], new: BuildInput, builder: str = "buildkit", records: Records | None = None
) -> tuple[list[PlannedStep], list[StepResult]]:
    """Walk earlier builds into the cache records, then the new build: its planned and explained steps."""
    walker = WALKERS.get(builder)
    if walker is None:
        raise UsageError(f"unknown builder {builder!r} (buildkit, classic, buildah)")
    records = Records() if records is None else records
    for number, build in enumerate(old_builds):
        try:
            steps = walker(build, records, f"build-{number}").run()
        except LayerscopeError as err:
            raise type(err)(f"the earlier build: {err}") from None
        records.add(steps)
    planned = walker(new, records, "current").run()
    return planned, explain(planned, records)


def simulate_builds(old_builds: list[BuildInput], new: BuildInput, builder: str = "buildkit") -> list[StepResult]:
    """Walk earlier builds into the cache records, then the new build; the explained steps of the new one."""
    return plan_builds(old_builds, new, builder)[1]


def load_costs(req: CacheRequest, candidates: list[Dockerfile], args: dict[str, str]) -> CostModel | None:
    """The image (--image) and the timing log (--timings) joined to the steps of the first Dockerfile they fit."""
    image = None
    if req.image is not None:
        from layerscope.api import open_image

        image = open_image(req.image)
    timings = None
    if req.timings is not None:
        try:
            with open(req.timings, encoding="utf-8") as fh:
                timings = fh.read()
        except OSError as err:
            raise BadReferenceError(f"cannot read --timings {req.timings}: {err.strerror}") from None
    return cost_model(candidates, req.target, args, image, timings)


def simulate_cache(req: CacheRequest) -> CacheSimulation:
    if req.git_log is not None:
        from layerscope.cache.replay import simulate_replay

        return simulate_replay(req)
    old, new, change = _builds(req)
    planned, results = plan_builds([old], new, req.builder)
    model = load_costs(req, [old.dockerfile, new.dockerfile], old.build_args)
    steps, summary, cost_notes = apply_costs(model, new, results, planned)
    target = new.dockerfile.target_stage(req.target).label
    return CacheSimulation(
        builder=req.builder,
        target=target,
        dockerfile=req.dockerfile or os.path.join(req.context, "Dockerfile"),
        context=req.context,
        change=change,
        steps=tuple(steps),
        summary=summary,
        image_store=req.image_store if req.builder == "buildkit" else None,
        notes=(*_notes(req), *(model.notes if model else ()), *cost_notes),
    )


def _notes(req: CacheRequest) -> tuple[str, ...]:
    notes = []
    if req.git is not None:
        notes.append(".git itself is not compared (it changes with every commit; ignore it in .dockerignore)")
    if req.changed:
        notes.append("--changed: the listed paths are taken to differ; their earlier content is unknown")
    if req.edited:
        notes.append("edited lines: each instruction is taken to differ; its earlier text is unknown")
    return tuple(notes)
