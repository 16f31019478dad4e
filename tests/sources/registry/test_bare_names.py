"""Bare names through the CLI: no engine here, so the registry answers; both reasons when both fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sources.registry.conftest import Pushed


@pytest.mark.registry
def test_bare_name_falls_back_to_the_registry(plain_image: Pushed, run_cli: Any) -> None:
    name = f"{plain_image.host}/{plain_image.repo}"  # no engine at DOCKER_HOST (isolated_env)
    r = run_cli("inspect", "--json", name)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["source"] == "docker" and doc["reference"] == name


@pytest.mark.registry
def test_bare_name_both_reasons(plain_image: Pushed, run_cli: Any) -> None:
    r = run_cli("inspect", f"{plain_image.host}/sample/absent:1")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "Docker engine: no Docker engine at unix://" in r.err
    assert "registry: tag '1' not found" in r.err


@pytest.mark.parametrize(("name", "why"), [("**/x*", "invalid repository name component '**'"),
                                           ("acme/API", "repository names must be lowercase")])  # fmt: skip
def test_a_name_outside_the_grammar_is_refused_before_any_source(run_cli: Any, name: str, why: str) -> None:
    r = run_cli("inspect", name)
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert why in r.err and "Docker engine" not in r.err and "registry:" not in r.err
