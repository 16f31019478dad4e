"""The scenario suite against the simulation: every rule of cache-rules.md, per builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.cache.simulate import CacheRequest, simulate_cache
from layerscope.errors import LayerscopeError
from tests.cache.scenario import LETTER, Scenario, load_all

SCENARIOS = load_all()
BUILDERS = ("buildkit", "overlay2", "classic", "buildah")


def simulate(sc: Scenario, builder: str, tmp: Path) -> str:
    before, after = tmp / "before", tmp / "after"
    if not before.exists():
        sc.write_before(before)
        sc.write_after(after)
    args_before, args_after = sc.args_before(), sc.args_after()
    old_args: dict[str, str | None] = {k: v for k, v in args_before.items() if args_after.get(k) != v}
    old_args.update({k: None for k in args_after if k not in args_before})
    req = CacheRequest(
        context=str(after),
        target=sc.target,
        builder="buildkit" if builder == "overlay2" else builder,
        image_store="overlay2" if builder == "overlay2" else "containerd",
        build_args=args_after,
        against=str(before),
        old_build_args=old_args,
        base_changed=("*",) if sc.change.get("base_changed") else (),
        reproducible=tuple(sc.options.get("reproducible", ())),
    )
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
