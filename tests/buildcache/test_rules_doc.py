"""docs/cache-rules.md section R stays true to the scenario suite: every scenario is cited by a rule, and every
scenario a rule cites exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.buildcache.scenario import HERE

DOC = Path(__file__).parents[2] / "docs" / "cache-rules.md"
SHORT_ID = re.compile(r"^\d+[a-z]?$")  # the prefix of a scenario file name: 08b for 08b_env_masks_arg.toml


def cited() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## R. ", 1)[1].split("\n## ", 1)[0]
    out: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        out.update(t for t in re.split(r"[,\s]+", cells[-1]) if SHORT_ID.match(t))
    return out


def test_every_scenario_is_cited_by_a_rule() -> None:
    ids = {p.stem.split("_", 1)[0] for p in HERE.glob("*.toml")}
    assert ids, "no scenarios found"
    assert not ids - cited(), f"scenarios no rule of docs/cache-rules.md §R cites: {sorted(ids - cited())}"


def test_every_cited_scenario_exists() -> None:
    ids = {p.stem.split("_", 1)[0] for p in HERE.glob("*.toml")}
    assert not cited() - ids, f"§R cites scenarios that do not exist: {sorted(cited() - ids)}"
