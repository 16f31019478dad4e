"""One change: build the earlier and the current build from the change inputs, walk both with one builder
model (the earlier build fills the cache records), and explain and price every step of the current one.
"""

from __future__ import annotations

from layerscope.buildcache.builders.run import plan_builds
from layerscope.buildcache.builders.table import builder_model, image_store
from layerscope.buildcache.inputs.builds import change_builds, change_notes, context_notes
from layerscope.buildcache.pricing.costs import apply_costs, load_costs
from layerscope.buildcache.request import BuildSpec, ChangeSpec
from layerscope.buildcache.results import CacheSimulation
from layerscope.model import STORED


def simulate_change(build: BuildSpec, change: ChangeSpec) -> CacheSimulation:
    old, new, said = change_builds(build, change)
    planned, results = plan_builds([old], new, build.builder)
    model = load_costs(build, [old.dockerfile, new.dockerfile], old.build_args)
    steps, summary, cost_notes = apply_costs(model, new, results, planned)
    target = new.dockerfile.target_stage(build.target).label
    named = context_notes(new.dockerfile, new.build_args, new.names(builder_model(build.builder).contexts_first))
    return CacheSimulation(
        builder=build.builder,
        target=target,
        dockerfile=build.dockerfile_path,
        context=build.context,
        change=said,
        steps=tuple(steps),
        summary=summary,
        image_store=image_store(build.builder, build.image_store),
        notes=(*change_notes(build, change), *named, *(model.notes if model else ()), *cost_notes),
        stored_as=model.stored_as if model else STORED,
    )
