"""Run a builder model: walk the earlier builds into the cache records, then the current build, and explain
each of its steps against the records."""

from __future__ import annotations

from layerscope.buildcache.builders.explain import explain
from layerscope.buildcache.builders.plan import BuildInput, PlannedStep, Records
from layerscope.buildcache.builders.table import BUILDERS, builder_model
from layerscope.buildcache.builders.walk import Walker
from layerscope.buildcache.results import StepResult
from layerscope.errors import LayerscopeError

WALKERS: dict[str, type[Walker]] = {b.name: b.walker() for b in BUILDERS}  # every model of builders/table.py


def plan_builds(
    old_builds: list[BuildInput], new: BuildInput, builder: str = "buildkit", records: Records | None = None
) -> tuple[list[PlannedStep], list[StepResult]]:
    """Walk earlier builds into the cache records, then the new build: its planned and explained steps."""
    walker = builder_model(builder).walker()
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
