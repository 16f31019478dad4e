"""`--advise`: find steps the replay shows re-running for files they do not read, rewrite the Dockerfile (and
.dockerignore) so that they stop, and replay the commits again with the rewrite.

Two findings, both about a COPY of a whole directory from the context (`COPY . .`):
* the install step after it reads only a few of the copied files (its command names them, or they are its
  package manager's manifests): copy those first, run the step, then copy the rest;
* paths that no step uses (docs, CI configuration, the Dockerfile itself) changed and made the COPY re-run:
  list them in .dockerignore.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass

from layerscope.buildcache.builders.plan import StageState
from layerscope.buildcache.builders.source_keys import copy_words
from layerscope.buildcache.features.replay import Replay, ReplayInput, Walked, cost_replay, walk_replay
from layerscope.buildcache.inputs.rewrite import Copied, find, needed_files, split_copy
from layerscope.buildcache.pricing.costs import CostModel
from layerscope.buildcache.results import MISS, Advice
from layerscope.buildfile.context import FILE, ContextTree
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile, Stage

UNUSED_DIRS = frozenset({"docs", "doc", ".github", ".gitlab", ".circleci", ".vscode", ".idea", ".devcontainer"})
UNUSED_FILES = ("*.md", "*.rst", "LICENSE*", "CHANGELOG*", ".gitignore", ".editorconfig", ".pre-commit-config.yaml")


@dataclass(frozen=True)
class Plan:
    stage: str
    copy_text: str
    run_text: str | None  # the install step to move before the COPY (None: only .dockerignore entries)
    needs: frozenset[str]
    ignore: tuple[str, ...]
    why: str
    lines: tuple[int, ...]


def _cwds(df: Dockerfile, stage: Stage) -> dict[int, str]:
    """WORKDIR in effect at each instruction of a stage (FROM <stage> parents followed; variables left as is)."""
    parent = df.find_stage(stage.base, before=stage.index)
    cwd = _cwds(df, parent).get(-1, "/") if parent is not None else "/"
    out = {}
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR" and ins.args:
            cwd = posixpath.normpath(posixpath.join(cwd, ins.args[0]))
        out[ins.line] = cwd
    out[-1] = cwd
    return out


def _copied(walked: Walked, copy: Instruction, cwd: str) -> Copied | None:
    build = walked.build
    assert build is not None
    plan = next((p for p in walked.planned if p.line == copy.line and p.instruction == copy.keyword), None)
    sel = next((c.selection for c in plan.components if c.name == "files"), None) if plan else None
    if sel is None or sel.origins is None:
        return None
    state = StageState("advise", cwd=cwd)
    _, dest = copy_words(copy, state, build.dockerfile.escape, build.dockerfile.budget)
    files = {
        posixpath.normpath(posixpath.join(dest, n)): (f.type, sel.origins.get(n, "")) for n, f in sel.files.items()
    }
    return Copied(copy.args[-1], files)


def _is_broad(ins: Instruction) -> bool:
    if ins.keyword not in ("COPY", "ADD") or ins.flag("from") or ins.heredocs or len(ins.args) != 2:
        return False
    src = ins.args[0]
    return not any(c in src for c in "*?[$") and (src in (".", "./") or src.endswith("/"))


def _next_run(stage: Stage, copy: Instruction) -> Instruction | None:
    for ins in stage.instructions[stage.instructions.index(copy) + 1 :]:
        if ins.keyword == "RUN":
            return ins
        if ins.keyword in ("COPY", "ADD", "WORKDIR"):
            return None
    return None


def _unused(path: str, referenced: str) -> str | None:
    """The .dockerignore pattern for a path no step uses, or None."""
    top = path.split("/", 1)[0]
    if top in UNUSED_DIRS and top not in referenced:
        return top
    name = posixpath.basename(path)
    if "/" not in path and any(fnmatch.fnmatchcase(name, p) for p in UNUSED_FILES) and name not in referenced:
        return name
    return None


def _step(walked: Walked, stage: str, text: str) -> tuple[Instruction, str] | None:
    """The instruction with this text in a commit's Dockerfile, and its status there."""
    if walked.build is None:
        return None
    ins = find(walked.build.dockerfile, stage, text)
    if ins is None:
        return None
    step = next((s for s in walked.explained if s.stage == stage and s.line == ins.line), None)
    return (ins, step.status) if step is not None else None


def _plans(ri: ReplayInput, walked: list[Walked]) -> list[Plan]:
    head = next((w for w in reversed(walked) if w.build is not None), None)
    if head is None or head.build is None:
        return []
    df = head.build.dockerfile
    referenced = "\n".join(i.original for s in df.stages for i in (s.from_ins, *s.instructions) if not _is_broad(i))
    plans = []
    for stage in df.stages:
        cwds = _cwds(df, stage)
        for copy in (i for i in stage.instructions if _is_broad(i)):
            copied = _copied(head, copy, cwds[copy.line])
            if copied is None:
                continue
            run = _next_run(stage, copy)
            needs = needed_files(run, cwds[run.line], copied) if run is not None else None
            wasted, ignore, copy_misses = 0, set(), 0
            for w in walked:
                c, r = _step(w, stage.label, copy.original), _step(w, stage.label, run.original) if run else None
                if c is None or c[1] != MISS:
                    continue
                copy_misses += 1
                selected = {src for _, src in copied.files.values()}
                hit_paths = [p for p in w.changed if p in selected or not selected]
                ignore |= {pat for p in hit_paths if (pat := _unused(p, referenced)) is not None}
                if ri.rel is not None and ri.rel in hit_paths:
                    ignore.add(ri.rel)
                if needs and r is not None and r[1] == MISS and not set(hit_paths) & needs:
                    wasted += 1
            if not wasted and not ignore:
                continue
            why = []
            what = "the whole context" if copy.args[0] in (".", "./") else f"all of {copy.args[0]}"
            if wasted and run is not None and needs:
                why.append(f"RUN at line {run.line} re-ran in {wasted} of {len(walked)} replayed commit(s) although "
                           f"none of the files it reads ({', '.join(sorted(needs))}) changed: the COPY at line "
                           f"{copy.line} copies {what} before it")  # fmt: skip
            if ignore:
                why.append(f"the COPY at line {copy.line} re-ran in {copy_misses} commit(s), also for paths no step "
                           f"uses: {', '.join(sorted(ignore))}")  # fmt: skip
            lines = (copy.line, run.line) if wasted and run is not None else (copy.line,)
            run_text = run.original if wasted and run is not None else None
            plans.append(Plan(stage.label, copy.original, run_text, frozenset(needs or ()), tuple(sorted(ignore)),
                              "; ".join(why), lines))  # fmt: skip
    return plans


def _ignore_path(ri: ReplayInput, tree: ContextTree) -> str:
    if ri.rel is not None and ri.rel + ".dockerignore" in tree.entries:
        return ri.rel + ".dockerignore"
    return ".dockerignore"


def apply_plan(ri: ReplayInput, plan: Plan, tree: ContextTree, text: str) -> tuple[ContextTree, str, str | None]:
    """The tree and Dockerfile of one commit with the rewrite (unchanged where it does not apply)."""
    from layerscope.buildfile.stages import load_dockerfile

    df = load_dockerfile(text)
    copy = find(df, plan.stage, plan.copy_text)
    run = find(df, plan.stage, plan.run_text) if plan.run_text else None
    if copy is not None and run is not None and all(p in tree.entries and tree.entries[p].type == FILE
                                                      for p in plan.needs):  # fmt: skip
        text = split_copy(df, copy, run, set(plan.needs)) or text
    files: dict[str, bytes] = {}
    ignore_text = None
    if plan.ignore:
        path = _ignore_path(ri, tree)
        old = tree.read(path).decode("utf-8", "replace") if path in tree.entries else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        ignore_text = old + sep + "# added by layerscope cache --advise: no build step uses these\n"
        ignore_text += "".join(p + "\n" for p in plan.ignore)
        files[path] = ignore_text.encode("utf-8", "surrogateescape")
    if ri.rel is not None:
        files[ri.rel] = text.encode()
    return tree.with_files(files), text, ignore_text


def advise(ri: ReplayInput, walked: list[Walked], replay: Replay, model: CostModel | None) -> list[Advice]:
    head = next(w for w in reversed(walked) if w.build is not None)
    assert head.build is not None
    out = []
    for plan in _plans(ri, walked):

        def transform(tree: ContextTree, text: str, plan: Plan = plan) -> tuple[ContextTree, str]:
            new_tree, new_text, _ = apply_plan(ri, plan, tree, text)
            return new_tree, new_text

        again, notes = walk_replay(ri, transform)
        rewritten = cost_replay(again, model, notes)
        _, dockerfile, ignore_text = apply_plan(ri, plan, head.build.context, head.build.dockerfile.text)
        before, after = replay.totals, rewritten.totals
        if after.misses >= before.misses and (after.rebuilt_bytes or 0) >= (before.rebuilt_bytes or 0):
            continue  # the rewrite would not have saved anything over these commits
        what = []
        if plan.run_text is not None:
            what.append(f"copy {', '.join(sorted(plan.needs))} first, then run line {plan.lines[1]}, "
                        f"then copy the rest (line {plan.lines[0]})")  # fmt: skip
        if plan.ignore:
            what.append(f"add {', '.join(plan.ignore)} to .dockerignore")
        out.append(Advice("; ".join(what), plan.why, plan.lines, dockerfile, ignore_text, plan.ignore, after, before))
    return out
