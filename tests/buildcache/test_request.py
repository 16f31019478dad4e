"""The request in three parts (the build, the change, the replay) and its flat public form `CacheRequest`: the
parts hold every field once, the facade gives the simulation the parts gives, and a replay takes no change."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

import layerscope
from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.inputs.contexts import parse_contexts
from layerscope.buildcache.request import BuildSpec, CacheRequest, ChangeSpec, ReplaySpec
from layerscope.buildcache.simulate import simulate_cache
from layerscope.cli.main import main
from layerscope.errors import UsageError
from layerscope.output.cache import to_json
from tests.buildcache.scenario import write_tree

DF = """\
FROM sample/busybox:base
COPY a.txt /a.txt
RUN cat /a.txt
COPY b.txt /b.txt
"""

REPLAY_FIELDS = {"git_log": "commits", "parent_only": "parent_only", "advise": "advise"}


def names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_field_of_the_flat_form_belongs_to_one_part() -> None:
    build, change = names(BuildSpec), names(ChangeSpec)
    assert not build & change
    assert names(CacheRequest) == build | change | set(REPLAY_FIELDS)
    assert set(REPLAY_FIELDS.values()) == names(ReplaySpec)


def test_the_parts_round_trip_through_the_flat_form(tmp_path: Path) -> None:
    build = BuildSpec(context=str(tmp_path), target="app", builder="classic", build_args={"V": "1"},
                      build_contexts=parse_contexts([f"libs={tmp_path}"]), timings="log.json")  # fmt: skip
    change = ChangeSpec(changed=("a.txt",), edited=(3,), old_build_args={"V": None}, old_target="base")
    replay = ReplaySpec(4, parent_only=True, advise=True)
    req = CacheRequest.of(build, change, replay)
    assert (req.build, req.change, req.replay) == (build, change, replay)
    assert CacheRequest.of(build).change == ChangeSpec() and CacheRequest.of(build).replay is None
    assert layerscope.CacheRequest is CacheRequest and layerscope.simulate_cache is simulate_cache


def test_the_flat_form_simulates_what_its_parts_do(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"}, DF)
    req = CacheRequest(context=str(tmp_path), changed=("b.txt",))
    flat = simulate_cache(req)
    assert [s.status for s in flat.steps] == ["hit", "hit", "hit", "miss"]
    assert to_json(flat) == to_json(simulate_change(req.build, req.change))


def test_a_replay_takes_no_other_change(tmp_path: Path) -> None:
    for change in ({"changed": ("a.txt",)}, {"edited": (2,)}, {"old_target": "x"}, {"base_changed": ("*",)}):
        with pytest.raises(UsageError, match="--git-log replays commits: give no other change"):
            simulate_cache(CacheRequest(context=str(tmp_path), git_log=2, **change))  # type: ignore[arg-type]


def test_the_cli_chooses_a_replay_or_one_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"}, DF)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    for name in ("Dockerfile", "a.txt", "b.txt"):
        subprocess.run([*git, "add", name], check=True)
        subprocess.run([*git, "commit", "-q", "-m", name], check=True)
    assert main(["cache", "--context", str(tmp_path), "--git-log", "1", "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["change"].startswith("git log: 1 commit(s)") and len(replayed["commits"]) == 1
    assert main(["cache", "--context", str(tmp_path), "--changed", "b.txt", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["change"] == "changed: b.txt" and "commits" not in one
    assert main(["cache", "--context", str(tmp_path), "--advise"]) == 2
    assert "--parent-only and --advise go with --git-log N" in capsys.readouterr().err
    assert main(["cache", "--context", str(tmp_path), "--git-log", "1", "--changed", "a.txt"]) == 2
    assert "--git-log replays commits" in capsys.readouterr().err
