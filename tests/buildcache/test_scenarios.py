"""The scenario suite against the simulation: every rule of docs/cache-rules.md, per builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.buildcache.simulate import simulate_cache
from layerscope.errors import LayerscopeError
from tests.buildcache.scenario import LETTER, Scenario, cache_request, load_all

SCENARIOS = load_all()
BUILDERS = ("buildkit", "overlay2", "buildkit-20.10", "classic", "buildah")


def simulate(sc: Scenario, builder: str, tmp: Path) -> str:
    model = "buildkit" if builder == "overlay2" else builder
    req = cache_request(sc, model, "overlay2" if builder in ("overlay2", "buildkit-20.10") else "containerd", tmp)
    sim = simulate_cache(req)
    return "".join(LETTER[s.status] for s in sim.steps), sim  # type: ignore[return-value]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
@pytest.mark.parametrize("builder", BUILDERS)
def test_scenario(sc: Scenario, builder: str, tmp_path: Path) -> None:
    error = sc.expect.get(f"{builder}_error")
    if error is not None:
        with pytest.raises(LayerscopeError, match=error):
            simulate(sc, builder, tmp_path)
        return
    expected = sc.expected(builder)
    if expected is None:
        pytest.skip(f"{sc.name}: no expectation for {builder}")
    letters, sim = simulate(sc, builder, tmp_path)  # type: ignore[misc]
    assert letters == expected, "\n".join(f"{s.status:>7} {s.line:>3} {s.text[:50]} | {s.reason}" for s in sim.steps)
    for where, cause in sc.causes.items():
        b, _, line = where.partition(":")
        if b != builder:
            continue
        step = next(s for s in sim.steps if s.line == int(line) and s.status in ("miss", "depends"))
        assert step.cause is not None and f"{step.cause.kind}:{step.cause.name}" == cause, step.reason
