"""The recorded differential corpus (tests/buildcache/corpus), scored against `layerscope cache` in process: every
scenario a real builder recorded must come out exact for that builder (`depends` counts as exact: the builder
decided on bytes a re-run step wrote). No engine needed; the slow tier re-checks the truth itself
(test_corpus_live.py)."""

from __future__ import annotations

import re

import pytest

from tests.buildcache.differential import generate
from tests.buildcache.differential.compare import score
from tests.buildcache.differential.corpus import ENGINES, SCENARIOS, load_scenarios, load_truth, load_versions

RECORDED = [e for e in ENGINES if load_truth(e)]


def test_corpus_inputs_are_generated_from_the_operators() -> None:
    assert SCENARIOS.read_text() == generate.render(), "run python -m tests.buildcache.differential.generate"


def test_corpus_is_large_enough_and_small() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) >= 300
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert SCENARIOS.stat().st_size < 2_000_000


def test_every_recorded_engine_has_its_version() -> None:
    versions = load_versions()
    for engine in RECORDED:
        assert versions.get(engine), f"no builder version recorded for {engine}"


def test_truth_is_about_known_scenarios() -> None:
    names = {s.name for s in load_scenarios()}
    for engine in RECORDED:
        for rec in load_truth(engine).values():
            assert "steps" in rec or "error" in rec or "unreadable" in rec, rec
            assert rec["id"] in names or rec["id"] in generate.EXCLUDED, rec["id"]


@pytest.mark.parametrize("engine", RECORDED)
def test_model_is_exact_on_the_recorded_corpus(engine: str) -> None:
    scored, bad, _ = score(engine)
    assert scored > 0
    assert not bad, f"{len(bad)} of {scored} scenarios differ on {engine}:\n" + "\n".join(
        f"{name}: {why}" for name, why in bad
    )


def test_corpus_ids_cited_by_the_rules_exist_and_were_recorded() -> None:
    from tests.buildcache.test_rules_doc import DOC

    section = DOC.read_text(encoding="utf-8").split("## R. ", 1)[1].split("\n## ", 1)[0]
    names = {s.name for s in load_scenarios()}
    recorded = set().union(*(load_truth(e) for e in RECORDED)) if RECORDED else set()
    seeds = {n.split("-", 1)[0] for n in names}
    cited = set()
    for line in section.splitlines():
        if line.startswith("|"):
            last = line.strip().strip("|").split("|")[-1]
            cited |= {t for t in re.split(r"[,\s]+", last) if t.split("-", 1)[0] in seeds and "-" in t}
    assert cited, "no corpus scenario cited in docs/cache-rules.md §R"
    assert not cited - names, f"cited but not in the corpus: {sorted(cited - names)}"
    assert not cited - recorded, f"cited but recorded by no builder: {sorted(cited - recorded)}"
