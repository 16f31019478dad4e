"""`layerscope cache` as users run it: the JSON contract, the change inputs, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.buildcache.scenario import write_tree
from tests.conftest import CliResult

Run = Callable[..., CliResult]

DOCKERFILE = """\
FROM sample/busybox:base AS build
WORKDIR /app
COPY requirements.txt .
ARG V=1
RUN cat requirements.txt
COPY src/ src/
FROM sample/busybox:base AS final
COPY --from=build /app/src /src
CMD ["/bin/sh"]
"""
FILES = {"requirements.txt": "flask\n", "src/a.py": "print(1)\n", "README.md": "hi\n"}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    write_tree(root, FILES, DOCKERFILE)
    return root


def statuses(doc: dict[str, object]) -> dict[int, str]:
    return {s["line"]: s["status"] for s in doc["steps"]}  # type: ignore[attr-defined,index]


def test_json_contract_with_changed(run_cli: Run, ctx: Path) -> None:
    r = run_cli("cache", "--context", str(ctx), "--changed", "src/a.py", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "layerscope.cache/1" and doc["builder"] == "buildkit" and doc["target"] == "final"
    step = doc["steps"][5]
    assert set(step) == {"stage", "line", "instruction", "text", "status", "reason", "cause", "layers", "bytes",
                         "compressed_bytes", "seconds"}  # fmt: skip
    assert (step["stage"], step["line"], step["instruction"], step["status"]) == ("build", 6, "COPY", "miss")
    assert step["cause"] == {"kind": "file", "name": "src/a.py"}
    assert statuses(doc) == {
        1: "hit",
        2: "hit",
        3: "hit",
        4: "none",
        5: "hit",
        6: "miss",
        7: "hit",
        8: "miss",
        9: "none",
    }
    summary = doc["summary"]
    assert summary["first_miss"] == 6 and summary["missed_steps"] == 2
    assert summary["rebuilt_bytes"] is None and summary["estimated_seconds"] is None
    assert doc["steps"][0]["cause"] is None


def test_old_build_arg_and_classic(run_cli: Run, ctx: Path) -> None:
    r = run_cli("cache", "--context", str(ctx), "--old-build-arg", "V=0", "--builder", "classic", "--json")
    doc = json.loads(r.out)
    # the RUN re-ran, and a RUN may have written anywhere: the COPY --from of the final stage depends on the
    # bytes it wrote, and so does the step after it
    assert statuses(doc) == {
        1: "none",
        2: "hit",
        3: "hit",
        4: "hit",
        5: "miss",
        6: "miss",
        7: "none",
        8: "depends",
        9: "depends",
    }
    run_step = doc["steps"][4]
    assert run_step["cause"] == {"kind": "build-arg", "name": "V"} and "'0' -> '1'" in run_step["reason"]
    assert doc["steps"][5]["cause"] == {"kind": "earlier-step", "name": "line 5"}


def test_docker20_buildkit_builder(run_cli: Run, ctx: Path, tmp_path: Path) -> None:
    """Docker 20.10's BuildKit: overlay2 is its only store, and its own rules (here: the cache mount id is keyed)."""
    r = run_cli("cache", "--context", str(ctx), "--changed", "src/a.py", "--builder", "buildkit-20.10", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["builder"], doc["image_store"]) == ("buildkit-20.10", "overlay2")
    assert statuses(doc)[6] == "miss" and statuses(doc)[5] == "hit"
    mount = "FROM sample/busybox:base\nRUN --mount=type=cache,target=/c,id={} ls /c\n"
    write_tree(tmp_path / "old", {}, mount.format("one"))
    write_tree(tmp_path / "new", {}, mount.format("two"))
    for builder, status in (("buildkit", "hit"), ("buildkit-20.10", "miss")):
        r = run_cli("cache", "--context", str(tmp_path / "new"), "--against", str(tmp_path / "old"),
                    "--builder", builder, "--json")  # fmt: skip
        assert statuses(json.loads(r.out))[2] == status, builder
    write_tree(tmp_path / "heredoc", {}, "FROM sample/busybox:base\nRUN <<EOF\necho hi\nEOF\n")
    r = run_cli("cache", "--context", str(tmp_path / "heredoc"), "--base-changed", "--builder", "buildkit-20.10")
    assert r.code == 2 and "Docker 20.10's BuildKit does not support heredocs" in r.err


def test_base_changed_and_text_output(run_cli: Run, ctx: Path) -> None:
    r = run_cli("cache", "--context", str(ctx), "--base-changed", "sample/busybox", "--target", "build")
    assert r.code == 0, r.err
    assert "base image sample/busybox:base changed" in r.out
    assert "skipped" in r.out and "5 step(s) miss; first miss: line 1" in r.out


def test_against_directory(run_cli: Run, ctx: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    write_tree(old, {**FILES, "requirements.txt": "django\n"}, DOCKERFILE)
    doc = json.loads(run_cli("cache", "--context", str(ctx), "--against", str(old), "--json").out)
    assert doc["steps"][2]["cause"] == {"kind": "file", "name": "requirements.txt"}
    assert doc["summary"]["first_miss"] == 3


def test_git_revisions_without_checkout(run_cli: Run, ctx: Path) -> None:
    git(ctx, "init", "-q")
    git(ctx, "add", "-A")
    git(ctx, "commit", "-qm", "one")
    (ctx / "README.md").write_text("edited\n")  # never copied
    (ctx / "src" / "a.py").write_text("print(2)\n")
    git(ctx, "commit", "-qam", "two")
    (ctx / "requirements.txt").write_text("django\n")  # working tree only
    doc = json.loads(run_cli("cache", "--context", str(ctx), "--git", "HEAD~1..HEAD", "--json").out)
    assert doc["summary"]["first_miss"] == 6 and doc["change"] == "git HEAD~1..HEAD"
    head = git(ctx, "rev-parse", "HEAD").strip()
    assert git(ctx, "status", "--porcelain").strip() == "M requirements.txt"  # nothing was checked out
    doc = json.loads(run_cli("cache", "--context", str(ctx), "--git", head, "--json").out)
    assert doc["steps"][2]["cause"] == {"kind": "file", "name": "requirements.txt"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--git", "no-such-rev"], "git revision 'no-such-rev' not found"),
        (["--changed", "../outside"], "outside the context"),
        (["--target", "nope", "--changed", "src/a.py"], "unknown target stage 'nope'"),
        ([], "nothing changed"),
        (["--changed", "x", "--build-arg", "novalue"], "expected K=V"),
        (
            ["--changed", "src/a.py", "--builder", "buildkit-20.10", "--image-store", "containerd"],
            "has only the overlay2 store",
        ),
        (["--changed", "src/a.py", "--builder", "buildkit-1"], "invalid choice: 'buildkit-1'"),
    ],
)
def test_bad_input_is_one_line(run_cli: Run, ctx: Path, args: list[str], message: str) -> None:
    if args[:1] == ["--git"]:
        git(ctx, "init", "-q")
        git(ctx, "add", "-A")
        git(ctx, "commit", "-qm", "one")
    r = run_cli("cache", "--context", str(ctx), *args)
    assert r.code == 2 and message in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM a\nRUN <<EOF\nx\n", "Dockerfile line 2: unterminated heredoc"),
        ("FROM a\nCOPY --from=3 /x /y\n", "line 2: --from=3: no earlier stage number 3"),
        ("FROM a\nCOPY ../x /y\n", "line 2: COPY/ADD source '../x' is outside the build context"),
    ],
)
def test_bad_dockerfiles(run_cli: Run, tmp_path: Path, dockerfile: str, message: str) -> None:
    write_tree(tmp_path / "c", {"x": "x"}, dockerfile)
    r = run_cli("cache", "--context", str(tmp_path / "c"), "--changed", "x")
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
