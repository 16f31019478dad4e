"""`--git-log N`, the replay feature: replay the last N commits (`replay.py`), price them, and with `--advise`
propose a rewrite and replay it too (`advise.py`)."""

from __future__ import annotations

from layerscope.buildcache.builders.table import image_store
from layerscope.buildcache.features.advise import advise
from layerscope.buildcache.features.replay import cost_replay, reference_dockerfiles, replay_input, walk_replay
from layerscope.buildcache.inputs.builds import git_context_notes
from layerscope.buildcache.pricing.costs import load_costs
from layerscope.buildcache.request import BuildSpec, ReplaySpec
from layerscope.buildcache.results import CacheSimulation
from layerscope.model import STORED


def simulate_replay(req: BuildSpec, spec: ReplaySpec) -> CacheSimulation:
    ri = replay_input(req, spec.commits, spec.parent_only)
    walked, notes = walk_replay(ri)
    model = load_costs(req, reference_dockerfiles(walked), ri.build_args)
    replay = cost_replay(walked, model, notes)
    done = [(r, b) for r, b in zip(replay.commits, replay.builds, strict=True) if b is not None]
    advice = None
    if spec.advise:
        advice = tuple(advise(ri, walked, replay, model))
    mode = "each against its parent's build only" if ri.parent_only else "the cache keeps every replayed commit"
    last, build = done[-1]
    return CacheSimulation(
        builder=req.builder,
        target=build.dockerfile.target_stage(req.target).label,
        dockerfile=req.dockerfile_path,
        context=req.context,
        change=f"git log: {len(replay.commits)} commit(s) up to {ri.commits[-1][0][:12]}, {mode}",
        steps=last.steps,
        summary=last.summary,
        image_store=image_store(req.builder, req.image_store),
        notes=(*(model.notes if model else ()), *replay.notes, *git_context_notes(req)),
        commits=tuple(replay.commits),
        totals=replay.totals,
        advice=advice,
        stored_as=model.stored_as if model else STORED,
    )
