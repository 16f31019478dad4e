"""The replay engine of `--git-log N` (gitlog.py) and of `--advise` (advise.py): the last N commits in order,
as the builder's cache saw them.

Each commit's context comes straight from git objects. The cache keeps the records of every commit replayed
before (a revert hits an older record), or, with `--parent-only`, only the parent's build (a CI runner
seeded from the previous build alone). The commit before the first replayed one seeds the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from layerscope.buildcache.builders.explain import explain
from layerscope.buildcache.builders.plan import BuildInput, ContextInput, PlannedStep, Records
from layerscope.buildcache.builders.table import builder_model, image_store
from layerscope.buildcache.inputs import gitsrc
from layerscope.buildcache.inputs.builds import inside, load_context, read_dockerfile
from layerscope.buildcache.pricing.costs import CostModel, apply_costs
from layerscope.buildcache.request import BuildSpec
from layerscope.buildcache.results import (
    HIT,
    MISS,
    CacheSummary,
    CommitResult,
    ReplayTotals,
    StepResult,
)
from layerscope.buildfile.context import ContextTree, load_ignore
from layerscope.buildfile.stages import Dockerfile, load_dockerfile
from layerscope.errors import LayerscopeError, UsageError

# (tree, Dockerfile text) of a commit -> the ones to build instead (the advice's rewrite)
Transform = Callable[[ContextTree, str], tuple[ContextTree, str]]


@dataclass(frozen=True)
class Replay:
    commits: list[CommitResult]
    builds: list[BuildInput | None]  # per replayed commit; None where it could not be read
    totals: ReplayTotals
    notes: list[str]


@dataclass(frozen=True)
class ReplayInput:
    """What every replay of one request shares: the commits, the Dockerfile's place, the build settings."""

    context: str
    rel: str | None  # the Dockerfile relative to the context (None: outside it)
    disk_dockerfile: str  # its text on disk, for a Dockerfile outside the context
    commits: list[tuple[str, str]]  # (commit, subject), oldest first, the seed first
    builder: str
    target: str | None
    build_args: dict[str, str]
    image_store: str
    reproducible: frozenset[str]
    parent_only: bool
    contexts: dict[str, ContextInput] = field(default_factory=dict)  # read from disk once: the same every commit


def replay_input(req: BuildSpec, count: int, parent_only: bool) -> ReplayInput:
    if count < 1:
        raise UsageError("--git-log N: N must be at least 1")
    gitsrc.repo_prefix(req.context)
    df_path = req.dockerfile_path
    rel = inside(df_path, req.context)
    log = gitsrc.first_parent_log(req.context, count + 1)
    store = image_store(req.builder, req.image_store) or "containerd"
    return ReplayInput(
        req.context, rel, read_dockerfile(df_path) if rel is None else "", list(reversed(log)), req.builder,
        req.target, dict(req.build_args), store, frozenset(req.reproducible), parent_only,
        {c.name: load_context(c) for c in req.build_contexts},
    )  # fmt: skip


def commit_build(ri: ReplayInput, commit: str, transform: Transform | None = None) -> BuildInput:
    tree = gitsrc.tree_at(ri.context, commit)
    if ri.rel is None:
        text = ri.disk_dockerfile
    elif ri.rel in tree.entries:
        text = tree.read(ri.rel).decode("utf-8", "replace")
    else:
        raise UsageError(f"no {ri.rel} in this commit")
    if transform is not None:
        tree, text = transform(tree, text)
    load_ignore(tree, ri.rel, None, builder_model(ri.builder).dockerfile_ignore)
    df = load_dockerfile(text)
    return BuildInput(df, tree, dict(ri.build_args), ri.target, {}, ri.image_store, ri.reproducible, ri.contexts)


def _walk(ri: ReplayInput, build: BuildInput, records: Records, build_id: str) -> list[PlannedStep]:
    walker = builder_model(ri.builder).walker()
    return walker(build, records, build_id).run()


@dataclass(frozen=True)
class Walked:
    """One replayed commit walked through the builder model, before costs."""

    commit: str
    subject: str
    changed: tuple[str, ...]
    build: BuildInput | None
    planned: list[PlannedStep]
    explained: list[StepResult]
    error: str | None = None


def walk_replay(ri: ReplayInput, transform: Transform | None = None) -> tuple[list[Walked], list[str]]:
    records = Records()
    prev: tuple[str, BuildInput] | None = None
    out: list[Walked] = []
    notes: list[str] = []
    seed, replayed = (ri.commits[0], ri.commits[1:]) if len(ri.commits) > 1 else (None, ri.commits)
    if seed is not None:
        try:
            build = commit_build(ri, seed[0], transform)
            records.add(_walk(ri, build, records, "commit-" + seed[0]))
            prev = seed[0], build
        except LayerscopeError as err:
            notes.append(f"the seed commit {seed[0][:12]} cannot be simulated: {err}")
    else:
        notes.append("the repository has no commit before the first one replayed: it is a build with no cache")
    for commit, subject in replayed:
        changed = tuple(gitsrc.changed_paths(ri.context, prev[0], commit)) if prev is not None else ()
        try:
            build = commit_build(ri, commit, transform)
            recs = records
            if ri.parent_only:
                recs = Records()
                if prev is not None:
                    recs.add(_walk(ri, prev[1], recs, "commit-" + prev[0]))
            planned = _walk(ri, build, recs, "commit-" + commit)
        except LayerscopeError as err:
            out.append(Walked(commit, subject, changed, None, [], [], str(err)))
            continue
        out.append(Walked(commit, subject, changed, build, planned, explain(planned, recs)))
        if not ri.parent_only:
            records.add(planned)
        prev = commit, build
    return out, notes


def cost_replay(walked: list[Walked], model: CostModel | None, notes: list[str]) -> Replay:
    results: list[CommitResult] = []
    notes = list(notes)
    for w in walked:
        if w.build is None:
            results.append(CommitResult(w.commit, w.subject, (), CacheSummary(None, 0), w.changed, w.error))
            continue
        steps, summary, cost_notes = apply_costs(model, w.build, w.explained, w.planned)
        notes += [f"{w.commit[:12]}: {n}" for n in cost_notes]
        results.append(CommitResult(w.commit, w.subject, tuple(steps), summary, w.changed))
    return Replay(results, [w.build for w in walked], totals(results, model), notes)


def totals(results: list[CommitResult], model: CostModel | None) -> ReplayTotals:
    done = [r for r in results if r.error is None]
    hits = sum(1 for r in done for s in r.steps if s.status == HIT)
    misses = sum(1 for r in done for s in r.steps if s.status == MISS)
    has_bytes = model is not None and model.has_image
    seconds = [r.summary.estimated_seconds for r in done if r.summary.estimated_seconds is not None]
    source = model.seconds_source if model is not None and seconds else None
    return ReplayTotals(
        commits=len(done),
        hits=hits,
        misses=misses,
        hit_rate=round(hits / (hits + misses), 4) if hits + misses else None,
        full_hits=sum(1 for r in done if r.summary.missed_steps == 0),
        rebuilt_bytes=sum(r.summary.rebuilt_bytes or 0 for r in done) if has_bytes else None,
        rebuilt_compressed_bytes=sum(r.summary.rebuilt_compressed_bytes or 0 for r in done) if has_bytes else None,
        estimated_seconds=round(sum(seconds), 3) if source else None,
        seconds_source=source,
    )


def reference_dockerfiles(walked: list[Walked]) -> list[Dockerfile]:
    """The Dockerfiles the image and timing log may come from: the newest commit's first."""
    out: dict[str, Dockerfile] = {}
    for w in reversed(walked):
        if w.build is not None:
            out.setdefault(w.build.dockerfile.text, w.build.dockerfile)
    if not out:
        raise UsageError("--git-log: no replayed commit could be simulated")
    return list(out.values())
