"""`simulate_cache`: a request (`CacheRequest`, the public form) to a simulation, the replay of git commits
(`--git-log`) or one change."""

from __future__ import annotations

from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.features.gitlog import simulate_replay
from layerscope.buildcache.request import BuildSpec, CacheRequest, ChangeSpec, ReplaySpec
from layerscope.buildcache.results import CacheSimulation


def simulate(build: BuildSpec, change: ChangeSpec, replay: ReplaySpec | None) -> CacheSimulation:
    if replay is None:
        return simulate_change(build, change)
    change.refuse_with_replay()
    return simulate_replay(build, replay)


def simulate_cache(req: CacheRequest) -> CacheSimulation:
    return simulate(req.build, req.change, req.replay)
