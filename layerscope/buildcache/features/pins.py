"""Where a package's pin lives, for the step that installed it, and so what "bumping it" changes.

* a requirements file the install RUN reads (its command names it; an earlier COPY of the stage brought it
  from the context, or a `--mount=type=bind` mounts it): the file changes (`--changed`);
* otherwise the RUN's own command (`pip install torch==2.1`, `apt-get install curl=7.88`): its text changes
  (`ChangeSpec.edited`);
* a COPY --from=<stage> installed it: the install RUN of that stage, found the same way;
* the base image installed it: the base image is re-published (`--base-changed`).

A package no file names (a dependency of one that is) changes when a requirements file the RUN reads does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from layerscope.buildcache.builders.mounts import parse_mounts
from layerscope.buildcache.inputs.rewrite import run_command, shell_commands
from layerscope.buildcache.inputs.whatif import WhatIf
from layerscope.buildfile.context import DIR
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Stage, stage_base

EDITED, CHANGED, BASE_CHANGED = "edited", "changed", "base"
REQUIREMENT_LIKE = re.compile(
    r"(requirement|constraint|deps|lock|pyproject\.toml|Pipfile|setup\.cfg|environment\.ya?ml)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Change:
    """What bumping a pin changes, as a cache simulation's input."""

    kind: str  # EDITED | CHANGED | BASE_CHANGED
    values: tuple[str, ...]  # instruction lines (as text), context paths, or base image names
    what: str  # in words
    run: tuple[str, int] | None = None  # the RUN that reads the pin (stage, line), when one does
    pin_file: str | None = None  # the context path holding the pin, when it is a file


def normalize(name: str) -> str:
    """PEP 503: runs of -, _ and . are one -; case does not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def mentions(text: str, name: str) -> bool:
    """Whether `text` names the package (as a requirement, a pin or a word of a command)."""
    parts = [re.escape(p) for p in re.split(r"[-_.]+", name) if p]
    if not parts:
        return False
    pattern = r"(?<![A-Za-z0-9._-])" + r"[-_.]+".join(parts) + r"(?![A-Za-z0-9_-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def requirement_lines(text: str, name: str) -> list[str]:
    """The lines of a requirements file that require `name` (with their continuations)."""
    out, keep = [], False
    for line in text.splitlines(keepends=True):
        if not keep:
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            keep = m is not None and normalize(m.group(1)) == normalize(name)
        if keep:
            out.append(line)
            keep = line.rstrip().endswith("\\")
    return out


def stage_chain(whatif: WhatIf, stage: Stage) -> list[Stage]:
    """The stage and the stages it is built FROM, base-most first."""
    out: list[Stage] = []
    st: Stage | None = stage
    while st is not None and st not in out:
        out.insert(0, st)
        st = whatif.df.find_stage(stage_base(whatif.df, st, whatif.base.build_args), before=st.index)
    return out


def _before(whatif: WhatIf, stage: Stage, ins: Instruction) -> list[Instruction]:
    """The instructions of the stage's chain built before `ins`."""
    out: list[Instruction] = []
    for st in stage_chain(whatif, stage):
        for i in st.instructions:
            if st is stage and i.line >= ins.line:
                return out
            out.append(i)
    return out


def _words(run: Instruction) -> list[str]:
    out = []
    for command in shell_commands(run_command(run)):
        for word in command:
            out += [w.strip("'\"") for w in (word, word.split("=", 1)[1] if "=" in word else "") if w.strip("'\"")]
    return out


def files_read(whatif: WhatIf, stage: Stage, run: Instruction) -> list[str]:
    """Context files the RUN's command names, in order: by their path in a bind mount of the context, or by
    their name where an earlier COPY of the stage's chain brought them in."""
    available: set[str] = set()
    for ins in _before(whatif, stage, run):
        if ins.keyword in ("COPY", "ADD") and not ins.flag("from"):
            available.update(whatif.copied_files(ins))
    entries = whatif.tree.entries
    mounted: dict[str, str] = {}  # a bind mount's target -> its context path
    for mount in parse_mounts(run):
        source = posixpath.normpath(mount.get("source", ".")).strip("/").removeprefix(".")
        if mount.type != "bind" or mount.get("from") or (source and source not in entries) or not mount.target:
            continue
        mounted[posixpath.normpath(mount.target)] = source
    out: list[str] = []
    for word in _words(run):
        target = next((t for t in mounted if word == t or word.startswith(t + "/")), None)
        if target is not None:  # the command reads the mount: the context path under its source
            path = posixpath.join(mounted[target], word[len(target) :].lstrip("/")).strip("/")
            if path in entries and entries[path].type != DIR and path not in out:
                out.append(path)
            continue
        base = posixpath.basename(word)
        hits = sorted((p for p in available if posixpath.basename(p) == base), key=lambda p: (p.count("/"), p))
        exact = [p for p in hits if p == word.removeprefix("./") or p.endswith("/" + word.removeprefix("./"))]
        for p in (exact or hits)[:1]:
            if p not in out:
                out.append(p)
    return out


def copied_in(whatif: WhatIf, stage: Stage, paths: list[str]) -> tuple[Stage, Instruction] | None:
    """The last COPY/ADD of the stage's chain whose destination holds one of `paths` (absolute image paths)."""
    wanted = [posixpath.normpath("/" + p.strip("/")) for p in paths]
    for owner in reversed(stage_chain(whatif, stage)):
        for ins in reversed([i for i in owner.instructions if i.keyword in ("COPY", "ADD")]):
            dest = posixpath.normpath("/" + ins.args[-1].strip("/")) if ins.args else ""
            if dest.startswith("/") and any(w == dest or w.startswith(dest.rstrip("/") + "/") for w in wanted):
                return owner, ins
    return None


class Pins:
    """Where the pins of many packages of one build live: what each RUN reads is worked out once."""

    def __init__(self, whatif: WhatIf) -> None:
        self.whatif = whatif
        self._read: dict[tuple[str, int], list[str]] = {}
        self._texts: dict[str, str] = {}

    def files_read(self, stage: Stage, run: Instruction) -> list[str]:
        key = (stage.label, run.line)
        if key not in self._read:
            self._read[key] = files_read(self.whatif, stage, run)
        return self._read[key]

    def text(self, path: str) -> str:
        if path not in self._texts:
            self._texts[path] = self.whatif.tree.read(path).decode("utf-8", "replace")
        return self._texts[path]

    def run_change(self, stage: Stage, run: Instruction, name: str, strict: bool = False) -> Change | None:
        """Bumping `name` where `run` installs it; with `strict`, None unless a file it reads or its command
        names it."""
        files = self.files_read(stage, run)
        where, key = f"read by RUN at line {run.line}", (stage.label, run.line)
        naming = [p for p in files if mentions(self.text(p), name)]
        if naming:
            return Change(CHANGED, tuple(naming), f"{', '.join(naming)} changed ({where})", key, naming[0])
        if mentions(run_command(run), name):
            return Change(EDITED, (str(run.line),), f"RUN at line {run.line} edited", key)
        if strict:
            return None
        likely = [p for p in files if REQUIREMENT_LIKE.search(posixpath.basename(p))]
        if likely:
            return Change(CHANGED, (likely[0],), f"{likely[0]} changed ({where}; it does not name {name})", key,
                          likely[0])  # fmt: skip
        return Change(EDITED, (str(run.line),), f"RUN at line {run.line} edited", key)

    def change(self, key: tuple[str, int], name: str) -> Change | None:
        """What bumping `name` changes, for the step `key` (stage, line) that installed it; None: nothing can."""
        whatif = self.whatif
        stage, ins = whatif.find(*key)
        if ins is stage.from_ins:
            image = stage_base(whatif.df, stage, whatif.base.build_args)
            return None if image == "scratch" else Change(BASE_CHANGED, (image,), f"base image {image} re-published")
        if ins.keyword == "RUN":
            return self.run_change(stage, ins, name)
        source = ins.flag("from") if ins.keyword == "COPY" else None
        found = whatif.df.find_stage(source, before=stage.index) if source else None
        if found is not None:  # a COPY --from=<stage>: the pin is where that stage installs it
            for owner in reversed(stage_chain(whatif, found)):
                for run in reversed([i for i in owner.instructions if i.keyword == "RUN"]):
                    change = self.run_change(owner, run, name, strict=True)
                    if change is not None:
                        return change
            # no RUN of it names the package: the COPY of that stage that brought the copied path in
            writer = copied_in(whatif, found, [a for a in ins.args[:-1] if not a.startswith("--")])
            if writer is not None and (writer[0].label, writer[1].line) != key:
                return self.change((writer[0].label, writer[1].line), name)
        planned = whatif.step_change(stage.label, ins.line)
        req = planned.change
        if req.changed:
            return Change(CHANGED, req.changed, planned.what, None, req.changed[0] if len(req.changed) == 1 else None)
        if req.base_changed:
            return Change(BASE_CHANGED, req.base_changed, planned.what)
        return Change(EDITED, tuple(str(n) for n in req.edited), planned.what)
