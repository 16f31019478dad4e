"""`cache --git-log N --advise`: an install step re-run for files it does not read gets a rewrite (its files
copied first, then the rest), paths no step uses go to .dockerignore, and the replay of the rewrite shows the
saving. The rewritten Dockerfile is built for real, and its install layer survives a code change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerscope.buildcache.inputs.rawjson import read_rawjson
from layerscope.buildcache.inputs.rewrite import Copied, needed_files, split_copy
from layerscope.buildfile.stages import load_dockerfile
from tests.buildcache.realbuild import (
    BASE,
    ENGINE_CASES,
    build,
    export,
    fresh_cache,
    git,
    skip_other_engines,
    write_tree,
)
from tests.conftest import CliResult
from tests.support.dockerd import Engine

Run = Callable[..., CliResult]

COPIED = Copied(".", {
    "/app": ("dir", ""), "/app/requirements.txt": ("file", "requirements.txt"),
    "/app/constraints.txt": ("file", "constraints.txt"), "/app/package.json": ("file", "package.json"),
    "/app/package-lock.json": ("file", "package-lock.json"), "/app/src": ("dir", "src"),
    "/app/src/a.py": ("file", "src/a.py"), "/app/README.md": ("file", "README.md"),
})  # fmt: skip


@pytest.mark.parametrize(
    ("command", "needs"),
    [
        ("pip install -r requirements.txt", {"requirements.txt"}),
        ("pip install --no-cache-dir -r requirements.txt -c /app/constraints.txt", {"requirements.txt",
                                                                                    "constraints.txt"}),
        ("pip install --requirement=requirements.txt && rm -rf /root/.cache", {"requirements.txt"}),
        ("npm ci --omit=dev", {"package.json", "package-lock.json"}),
        ("sort requirements.txt > deps.txt && dd if=/dev/zero of=deps.bin count=3", {"requirements.txt"}),
        ("pip install .", None),  # the whole copied directory
        ("pip install -r requirements.txt && pip install -e .", None),
        ("npm ci && npm run build", None),  # a build reads the sources without naming them
        ("make deps", None),
        ("echo nothing named", None),
        ("cat src/*.py > all.py", {"src/a.py"}),
    ],
)  # fmt: skip
def test_what_a_run_reads(command: str, needs: set[str] | None) -> None:
    run = load_dockerfile(f"FROM x\nRUN {command}\n").stages[0].instructions[0]
    assert needed_files(run, "/app", COPIED) == needs


def test_split_copy_keeps_the_lines_between() -> None:
    text = """\
FROM x
WORKDIR /app
# everything
COPY --chown=app . .
ENV PIP_NO_CACHE_DIR=1
# install
RUN pip install -r requirements.txt \\
    -r reqs/dev.txt
CMD ["app"]
"""
    df = load_dockerfile(text)
    copy, run = df.stages[0].instructions[1], df.stages[0].instructions[3]
    assert (
        split_copy(df, copy, run, {"requirements.txt", "reqs/dev.txt"})
        == """\
FROM x
WORKDIR /app
# everything
COPY --chown=app requirements.txt ./
COPY --chown=app reqs/dev.txt ./reqs/
ENV PIP_NO_CACHE_DIR=1
# install
RUN pip install -r requirements.txt \\
    -r reqs/dev.txt
COPY --chown=app . .
CMD ["app"]
"""
    )
    workdir = load_dockerfile("FROM x\nCOPY . /src/\nWORKDIR /src\nRUN sort r.txt\n")
    ins = workdir.stages[0].instructions
    assert split_copy(workdir, ins[0], ins[2], {"r.txt"}) is None  # the WORKDIR must stay after the COPY


DOCKERFILE = f"""\
FROM {BASE}
WORKDIR /app
COPY . .
RUN sleep 1 && sort requirements.txt > deps.txt && dd if=/dev/zero of=deps.bin bs=1024 count=300 2>/dev/null
RUN cat src/*.py > build.txt
CMD ["/bin/sh"]
"""
ADVISED = f"""\
FROM {BASE}
WORKDIR /app
COPY requirements.txt ./
RUN sleep 1 && sort requirements.txt > deps.txt && dd if=/dev/zero of=deps.bin bs=1024 count=300 2>/dev/null
COPY . .
RUN cat src/*.py > build.txt
CMD ["/bin/sh"]
"""
COMMITS = [
    ("initial", {"Dockerfile": DOCKERFILE, "requirements.txt": "flask\n", "src/a.py": "print(1)\n",
                 "docs/guide.md": "# guide\n"}),
    ("code", {"src/a.py": "print(2)\n"}),
    ("docs", {"docs/guide.md": "# guide, longer\n"}),
    ("requirements", {"requirements.txt": "django\n"}),
    ("more code", {"src/a.py": "print(3)\n"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("advice") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for subject, files in COMMITS:
        write_tree(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", subject)
    return root


def advise(run_cli: Run, repo: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    r = run_cli("cache", "--context", str(repo), "--git-log", "4", "--advise", *extra, "--json", env=env)
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def test_advice_rewrites_and_replays(run_cli: Run, repo: Path) -> None:
    doc = advise(run_cli, repo)
    assert doc["totals"]["hit_rate"] == pytest.approx(8 / 20)  # FROM and WORKDIR hit; the rest always misses
    (advice,) = doc["advice"]
    assert advice["dockerfile"] == ADVISED and advice["lines"] == [3, 4]
    assert advice["ignore_added"] == ["docs"] and advice["dockerignore"].endswith("\ndocs\n")
    assert "RUN at line 4 re-ran in 3 of 4 replayed commit(s)" in advice["why"]
    assert advice["before"] == doc["totals"]
    # with the rewrite: "code" and "more code" re-run COPY . . and line 6; "docs" hits; "requirements" misses 4
    assert (advice["totals"]["hits"], advice["totals"]["misses"]) == (16, 8) and advice["totals"]["full_hits"] == 1
    text = run_cli("cache", "--context", str(repo), "--git-log", "4", "--advise").out
    assert "advice: copy requirements.txt first, then run line 4, then copy the rest (line 3)" in text
    assert "  .dockerignore: add docs" in text and "    COPY requirements.txt ./" in text


def test_no_advice_for_a_dockerfile_in_good_order(run_cli: Run, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for files in [{"Dockerfile": ADVISED, ".dockerignore": "docs\n", "requirements.txt": "a\n", "src/a.py": "1\n",
                   "docs/x.md": "x\n"}, {"src/a.py": "2\n"}, {"docs/x.md": "y\n"}]:  # fmt: skip
        write_tree(root, files)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "c")
    doc = json.loads(run_cli("cache", "--context", str(root), "--git-log", "2", "--advise", "--json").out)
    assert doc["advice"] == []


@pytest.fixture(scope="module")
def original_build(engine: Engine, repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The last commit built with its own Dockerfile: the image and rawjson log the advice costs with."""
    out = tmp_path_factory.mktemp("advice-build")
    fresh_cache(engine)
    built = build(engine, export(repo, "HEAD", out / "head"), "advice/original:head", out)
    (out / "head.rawjson").write_text(built.log)
    return {"out": out, "built": built, "log": out / "head.rawjson"}


@pytest.mark.parametrize("engine_id", ENGINE_CASES)
def test_rewritten_dockerfile_builds_and_saves(
    run_cli: Run, engine: Engine, engine_id: str, repo: Path, request: pytest.FixtureRequest
) -> None:
    skip_other_engines(engine, engine_id)
    ob = request.getfixturevalue("original_build")
    timings = ("--timings", str(ob["log"])) if engine.spec.modern else ()
    doc = advise(run_cli, repo, "--image", ob["built"].ref, *timings, env=engine.env)
    (advice,) = doc["advice"]
    before, after = advice["before"], advice["totals"]
    deps = ob["built"].image.layers[3].size  # the install step's layer: 300 KiB
    assert deps is not None and deps >= 300 * 1024
    assert before["rebuilt_bytes"] > 4 * deps and after["rebuilt_bytes"] < 2 * deps < before["rebuilt_bytes"]
    if engine.spec.modern:
        assert after["estimated_seconds"] < before["estimated_seconds"]
    # the rewrite builds, and a code change no longer re-runs the install step
    images = []
    for rev in ("HEAD~1", "HEAD"):
        ctx = export(repo, rev, ob["out"] / f"advised-{rev.replace('~', '-')}")
        (ctx / "Dockerfile").write_text(advice["dockerfile"])
        (ctx / ".dockerignore").write_text(advice["dockerignore"])
        images.append(build(engine, ctx, f"advice/rewritten:{rev.replace('~', '-')}", ob["out"]))
    assert images[0].diff_ids[:4] == images[1].diff_ids[:4]  # base, WORKDIR, requirements, install: reused
    assert images[0].diff_ids[4:] != images[1].diff_ids[4:]
    if engine.spec.modern:
        install = next(v for v in read_rawjson(images[1].log) if v.name.startswith("[4/6] RUN sleep 1"))
        assert install.cached
