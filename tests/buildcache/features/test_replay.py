"""`cache --git-log N`: the last N commits replayed in order, on a repository made here whose commits touch the
code, the requirements and the docs, revert a change and return to an old state. Hit rates, bytes and seconds
are known by hand: every cache record is kept (a revert hits an older record), or only the parent's
(`--parent-only`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.buildcache.pricing.test_costs import BK, crafted, layer
from tests.buildcache.realbuild import git, write_tree
from tests.conftest import CliResult

Run = Callable[..., CliResult]

DOCKERFILE = """\
FROM sample/busybox:base
WORKDIR /app
COPY requirements.txt ./
RUN sort requirements.txt > deps.txt
COPY src/ ./src/
RUN cat src/*.py > build.txt
CMD ["/bin/sh"]
"""
# (subject, files written): FROM, WORKDIR, COPY, RUN, COPY, RUN are cache steps; CMD is none
COMMITS = [
    ("initial", {"Dockerfile": DOCKERFILE, "requirements.txt": "flask\n", "src/a.py": "print(1)\n",
                 "docs/guide.md": "# guide\n"}),
    ("code", {"src/a.py": "print(2)\n"}),
    ("docs", {"docs/guide.md": "# guide, longer\n"}),
    ("requirements", {"requirements.txt": "django\n"}),
    ("revert requirements", {"requirements.txt": "flask\n"}),  # the state of "docs" again
    ("code back", {"src/a.py": "print(1)\n"}),  # the copied files of "initial" again
]  # fmt: skip
MISSED = {  # commit -> missed lines, with every record kept / with the parent's build only
    "code": ([5, 6], [5, 6]),
    "docs": ([], []),
    "requirements": ([3, 4, 5, 6], [3, 4, 5, 6]),
    "revert requirements": ([], [3, 4, 5, 6]),
    "code back": ([], [5, 6]),
}
SIZES = [1000, 0, 6, 3000, 9, 9]  # bytes of each layer of the image crafted for the last build
SECONDS = {"[1/6] FROM docker.io/sample/busybox:base": 0.1, "[2/6] WORKDIR /app": 0.2,
           "[3/6] COPY requirements.txt ./": 0.3, "[4/6] RUN sort requirements.txt > deps.txt": 4.0,
           "[5/6] COPY src/ ./src/": 0.5, "[6/6] RUN cat src/*.py > build.txt": 1.0}  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for subject, files in COMMITS:
        write_tree(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", subject)
    return root


def image_of_last_build(tmp_path: Path) -> str:
    layers = [layer({f"f{i}": b"x" * size}) for i, size in enumerate(SIZES)]
    made = [None, "WORKDIR /app", "COPY requirements.txt ./ # buildkit",
            "RUN /bin/sh -c sort requirements.txt > deps.txt # buildkit", "COPY src/ ./src/ # buildkit",
            "RUN /bin/sh -c cat src/*.py > build.txt # buildkit"]  # fmt: skip
    history: list[dict[str, Any]] = [{"created_by": m, "comment": BK if m else "Imported from -"} for m in made]
    history.append({"created_by": 'CMD ["/bin/sh"]', "comment": BK, "empty_layer": True})
    return crafted(tmp_path, history, layers)


def rawjson_log(path: Path) -> Path:
    """A rawjson log as buildx writes it: vertices repeat, the last update wins."""
    lines = []
    for i, (name, took) in enumerate(SECONDS.items()):
        digest = f"sha256:{i:064x}"
        lines.append(json.dumps({"vertexes": [{"digest": digest, "name": name}]}))
        started, completed = f"2024-05-01T10:00:{i * 10:02d}.000000001Z", f"2024-05-01T10:00:{i * 10 + took:09.6f}Z"
        lines.append(json.dumps({"vertexes": [{"digest": digest, "name": name, "started": started,
                                               "completed": completed}]}))  # fmt: skip
    lines.append(
        json.dumps(
            {
                "vertexes": [
                    {
                        "digest": "sha256:" + "f" * 64,
                        "name": "exporting to image",
                        "started": "2024-05-01T10:01:00Z",
                        "completed": "2024-05-01T10:01:09Z",
                    }
                ]
            }
        )
    )
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(run_cli: Run, repo: Path, *extra: str) -> dict[str, Any]:
    r = run_cli("cache", "--context", str(repo), "--git-log", "5", *extra, "--json")
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(r.out)
    return doc


@pytest.mark.parametrize(("mode", "flags"), [(0, ()), (1, ("--parent-only",))])
def test_hit_rates(run_cli: Run, repo: Path, mode: int, flags: tuple[str, ...]) -> None:
    doc = replay(run_cli, repo, *flags)
    assert [c["subject"] for c in doc["commits"]] == list(MISSED)
    for c in doc["commits"]:
        missed = [s["line"] for s in c["steps"] if s["status"] == "miss"]
        assert missed == MISSED[c["subject"]][mode], c["subject"]
        assert c["summary"]["first_miss"] == (missed[0] if missed else None)
    misses = sum(len(m[mode]) for m in MISSED.values())
    hit_rate = {0: 24 / 30, 1: 18 / 30}[mode]  # six cache steps per commit
    assert doc["totals"]["hit_rate"] == pytest.approx(hit_rate, abs=1e-4)
    assert (doc["totals"]["hits"], doc["totals"]["misses"], doc["totals"]["commits"]) == (30 - misses, misses, 5)
    assert doc["totals"]["full_hits"] == {0: 3, 1: 1}[mode]
    assert doc["totals"]["rebuilt_bytes"] is None and doc["totals"]["estimated_seconds"] is None
    assert doc["steps"] == doc["commits"][-1]["steps"] and doc["summary"] == doc["commits"][-1]["summary"]
    assert [c["changed"] for c in doc["commits"]] == [["src/a.py"], ["docs/guide.md"], ["requirements.txt"],
                                                      ["requirements.txt"], ["src/a.py"]]  # fmt: skip


def test_reverting_hits_an_older_record(run_cli: Run, repo: Path) -> None:
    doc = replay(run_cli, repo)
    revert = doc["commits"][3]
    assert all(s["status"] in ("hit", "none") for s in revert["steps"])
    parent_only = replay(run_cli, repo, "--parent-only")["commits"][3]
    run = next(s for s in parent_only["steps"] if s["line"] == 4)
    assert run["cause"] == {"kind": "earlier-step", "name": "line 3"}
    copy = next(s for s in parent_only["steps"] if s["line"] == 3)
    assert copy["cause"] == {"kind": "file", "name": "requirements.txt"}


@pytest.mark.parametrize(("mode", "flags"), [(0, ()), (1, ("--parent-only",))])
def test_replayed_costs(run_cli: Run, repo: Path, tmp_path: Path, mode: int, flags: tuple[str, ...]) -> None:
    image, log = image_of_last_build(tmp_path), rawjson_log(tmp_path / "build.rawjson")
    doc = replay(run_cli, repo, "--image", image, "--timings", str(log), *flags)
    by_line = dict(zip(range(1, 7), zip(SIZES, SECONDS.values(), strict=True), strict=True))
    for c in doc["commits"]:
        missed = MISSED[c["subject"]][mode]
        assert c["summary"]["rebuilt_layers"] == len(missed)
        assert c["summary"]["rebuilt_bytes"] == sum(by_line[n][0] for n in missed)
        assert c["summary"]["estimated_seconds"] == pytest.approx(sum(by_line[n][1] for n in missed), abs=1e-3)
    assert doc["totals"]["rebuilt_bytes"] == {0: 18 + 3024, 1: 18 + 3024 + 3024 + 18}[mode]
    assert doc["totals"]["estimated_seconds"] == pytest.approx({0: 1.5 + 5.8, 1: 1.5 + 5.8 + 5.8 + 1.5}[mode])
    assert doc["totals"]["seconds_source"] == "rawjson"
    text = run_cli("cache", "--context", str(repo), "--git-log", "5", "--image", image, "--timings", str(log), *flags)
    assert f"hit rate {[80, 60][mode]}% ({[24, 18][mode]} of 30 cache steps hit) over 5 commit(s)" in text.out
    assert "estimate: the step durations of the BuildKit rawjson log" in text.out


def test_fewer_commits_than_asked_and_a_broken_commit(run_cli: Run, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for subject, files in [("one", {"Dockerfile": DOCKERFILE, "requirements.txt": "a\n", "src/a.py": "1\n"}),
                           ("broken", {"Dockerfile": "FROM sample/busybox:base\nFROBNICATE x\n"}),
                           ("fixed", {"Dockerfile": DOCKERFILE, "src/a.py": "2\n"})]:  # fmt: skip
        write_tree(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", subject)
    doc = json.loads(run_cli("cache", "--context", str(root), "--git-log", "10", "--json").out)
    assert [c["subject"] for c in doc["commits"]] == ["broken", "fixed"]  # "one" seeds the cache
    broken, fixed = doc["commits"]
    assert broken["error"] == "Dockerfile line 2: unknown instruction: FROBNICATE" and broken["steps"] == []
    assert [s["line"] for s in fixed["steps"] if s["status"] == "miss"] == [5, 6]
    assert doc["totals"]["commits"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--git-log", "3", "--changed", "src/a.py"], "--git-log replays commits: give no other change"),
        (["--git-log", "0"], "--git-log N: N must be at least 1"),
        (["--parent-only", "--changed", "src/a.py"], "--parent-only and --advise go with --git-log N"),
        (["--git-log", "2", "--timings", "/nonexistent/log"], "cannot read --timings /nonexistent/log"),
    ],
)
def test_bad_replay_input(run_cli: Run, repo: Path, args: list[str], message: str) -> None:
    r = run_cli("cache", "--context", str(repo), *args)
    assert r.code == 2 and r.out == "" and message in r.err and len(r.err.strip().splitlines()) == 1


def test_not_a_repository(run_cli: Run, tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE})
    r = run_cli("cache", "--context", str(tmp_path), "--git-log", "2")
    assert r.code == 2 and "git rev-parse failed" in r.err
