"""What-if changes for one Dockerfile and its context, as changes to simulate on its build: "this step's inputs
changed" and "this context file changed" (explore's Cache view asks these).

A COPY/ADD of context files changes when the files it selects change (`--changed` of every one of them). A
FROM of an image changes when the image is re-published (`--base-changed`). Any other step (RUN, ENV, WORKDIR,
COPY --from, ADD of a URL, ...) changes when its text is edited (`ChangeSpec.edited`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from layerscope.buildcache.builders.plan import ContextInput
from layerscope.buildcache.builders.source_keys import context_selection, is_url
from layerscope.buildcache.builders.table import builder_model
from layerscope.buildcache.inputs.builds import load_context
from layerscope.buildcache.request import BuildSpec, ChangeSpec
from layerscope.buildfile.context import DIR, FILE, SYMLINK, ContextTree, Selection, load_ignore, select
from layerscope.buildfile.expand import expand
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import (
    Dockerfile,
    NamedRef,
    Names,
    Stage,
    from_target,
    global_arg_values,
    load_dockerfile,
    stage_base,
    stage_parent,
)
from layerscope.errors import UsageError
from layerscope.readfile import read_text


@dataclass(frozen=True, slots=True)
class ListedStep:
    """One instruction of the Dockerfile, in the order the builders walk them (ONBUILD triggers included)."""

    stage: str
    line: int
    instruction: str
    text: str


@dataclass(frozen=True, slots=True)
class PlannedChange:
    change: ChangeSpec  # to simulate on the base build (features/change.py)
    what: str  # the change, in words


class WhatIf:
    """The Dockerfile and context of the build `base`, read once."""

    def __init__(self, base: BuildSpec) -> None:
        self.base = base
        path = base.dockerfile_path
        text = read_text(path, "Dockerfile")
        self.df: Dockerfile = load_dockerfile(text)
        self.df.target_stage(base.target)  # an unknown --target fails here, not at the first simulation
        self.tree = ContextTree.from_dir(base.context)
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base.context)).replace(os.sep, "/")
        inside = rel != ".." and not rel.startswith("../")
        load_ignore(self.tree, rel if inside else None, None if inside else os.path.abspath(path))
        self.contexts: dict[str, ContextInput] = {c.name: load_context(c) for c in base.build_contexts}
        self.names = Names(tuple(self.contexts), context_first=builder_model(base.builder).contexts_first)
        self.values = {**global_arg_values(self.df, base.build_args), **base.build_args}
        self.steps: tuple[ListedStep, ...] = tuple(self._listed())
        self._found: dict[tuple[str, int], tuple[Stage, Instruction]] = {}

    def _parent(self, stage: Stage) -> Stage | None:
        parent = stage_parent(self.df, stage, self.base.build_args, self.names)
        return parent if isinstance(parent, Stage) else None

    def _walk(self) -> list[tuple[Stage, Instruction, str]]:
        out = []
        for stage in self.df.stages:
            out.append((stage, stage.from_ins, stage.from_ins.original))
            parent = self._parent(stage)
            if parent is not None:
                for ins in parent.instructions:
                    if ins.keyword == "ONBUILD" and ins.trigger is not None:
                        out.append((stage, ins.trigger, "ONBUILD " + ins.trigger.original))
            out += [(stage, ins, ins.original) for ins in stage.instructions]
        return out

    def _listed(self) -> list[ListedStep]:
        return [ListedStep(s.label, ins.line, ins.keyword, text) for s, ins, text in self._walk()]

    def find(self, stage: str, line: int) -> tuple[Stage, Instruction]:
        if not self._found:
            self._found = {(s.label, ins.line): (s, ins) for s, ins, _ in self._walk()}
        hit = self._found.get((stage, line))
        if hit is None:
            raise UsageError(f"no instruction of stage {stage} starts on line {line}")
        return hit

    # --- changes ------------------------------------------------------------------------------
    def step_change(self, stage: str, line: int) -> PlannedChange:
        """The step's inputs changed: its files, its base image, or its own text."""
        st, ins = self.find(stage, line)
        kw = ins.keyword
        if ins is st.from_ins:
            image = stage_base(self.df, st, self.base.build_args)
            parent = self._parent(st)
            if parent is not None:
                raise UsageError(f"FROM {parent.label} (line {line}) continues a stage: choose one of its steps")
            if image == "scratch":
                raise UsageError(f"FROM scratch (line {line}) has no inputs to change")
            named = stage_parent(self.df, st, self.base.build_args, self.names)
            if isinstance(named, NamedRef):
                return self.context_change(named.name, ["."], f"FROM (line {line})")
            return PlannedChange(ChangeSpec(base_changed=(image,)), f"base image {image} re-published")
        if kw in ("COPY", "ADD") and ins.flag("from"):
            source = from_target(self.df, st, ins.flag("from") or "", ins.line, self.base.build_args, self.names)
            srcs = [expand(a, self.values, self.df.escape, self.df.budget) for a in ins.args[:-1]]
            if isinstance(source, NamedRef):
                return self.context_change(source.name, srcs, f"{kw} (line {line})")
            if isinstance(source, str):
                return PlannedChange(ChangeSpec(base_changed=(source,)), f"image {source} re-published")
        if kw in ("COPY", "ADD") and not ins.flag("from"):
            files = self.copied_files(ins)
            if files:
                where = f"{kw} (line {line})"
                what = f"{files[0]} changed, copied by {where}" if len(files) == 1 else ""
                what = what or f"the {len(files)} files {where} copies changed"
                return PlannedChange(ChangeSpec(changed=tuple(files)), what)
        return PlannedChange(ChangeSpec(edited=(ins.line,)), f"{kw} (line {ins.line}) edited")

    def context_change(self, name: str, srcs: list[str], where: str) -> PlannedChange:
        """A named context changed: an image one re-published, or the files a step takes from a directory one."""
        ctx = self.contexts[name]
        if ctx.tree is None:
            what = f"the image of context {ctx.spec} re-published"
            return PlannedChange(ChangeSpec(base_changed=(name,)), what)
        sel = context_selection(ctx, srcs, 0)
        entries = ctx.tree.entries
        picked = {v.removeprefix(name + ":") for v in (sel.origins or {}).values()}
        files = sorted(p for p in picked if p in entries and entries[p].type != DIR)
        paths = tuple(os.path.join(os.path.abspath(ctx.source), p) for p in files)
        what = f"the {len(paths)} files {where} takes from the named context {name} changed"
        return PlannedChange(ChangeSpec(changed=paths), what)

    def path_change(self, path: str) -> PlannedChange:
        """A context path changed (relative to the context, or absolute inside it)."""
        rel = self.context_path(path)
        if rel is None or rel not in self.tree.entries:
            held = self.named_context_path(path)
            if held is not None:
                return PlannedChange(ChangeSpec(changed=(held[1],)), f"{held[0]}:{held[2]} changed")
            raise UsageError(f"{path}: not in the context {self.base.context}")
        kind = "directory" if self.tree.entries[rel].type == DIR else ""
        return PlannedChange(ChangeSpec(changed=(rel,)), f"{rel}{'/' if kind else ''} changed")

    def named_context_path(self, path: str) -> tuple[str, str, str] | None:
        """(context name, absolute path, path in it) of a path inside a directory --build-context."""
        full = os.path.abspath(path.strip())
        for name, ctx in self.contexts.items():
            if ctx.tree is None:
                continue
            rel = os.path.relpath(full, os.path.abspath(ctx.source)).replace(os.sep, "/")
            if rel != "." and rel != ".." and not rel.startswith("../") and rel in ctx.tree.entries:
                return name, full, rel
        return None

    def context_path(self, path: str) -> str | None:
        path = path.strip()
        if os.path.isabs(path):
            rel = os.path.relpath(path, os.path.abspath(self.base.context)).replace(os.sep, "/")
            return None if rel == ".." or rel.startswith("../") else rel
        return os.path.normpath(path).replace(os.sep, "/").lstrip("/") if path not in ("", ".") else None

    # --- what a COPY/ADD takes from the context -----------------------------------------------
    def selection(self, ins: Instruction) -> Selection | None:
        """The context entries a COPY/ADD of the context selects (None for --from, URLs and heredocs)."""
        if ins.keyword not in ("COPY", "ADD") or ins.flag("from"):
            return None
        srcs = [expand(a, self.values, self.df.escape, self.df.budget) for a in ins.args[:-1] if not a.startswith("<<")]
        srcs = [s for s in srcs if not is_url(s)]
        if not srcs:
            return None
        excludes = tuple(expand(e, self.values, self.df.escape, self.df.budget) for e in ins.flag_values("exclude"))
        return select(self.tree, srcs, ins.line, excludes=excludes, parents=ins.has_flag("parents"))

    def copied_files(self, ins: Instruction) -> list[str]:
        sel = self.selection(ins)
        if sel is None:
            return []
        entries = self.tree.entries
        return sorted({p for p in (sel.origins or {}).values() if p in entries and entries[p].type in (FILE, SYMLINK)})

    def source_of(self, image_path: str, stage: str, line: int) -> str | None:
        """The context file a COPY/ADD step wrote to `image_path` in the image (None: not copied from the context)."""
        try:
            _, ins = self.find(stage, line)
        except UsageError:
            return None
        sel = self.selection(ins)
        if sel is None:
            return None
        path = image_path.strip("/")
        files = {k: v for k, v in (sel.origins or {}).items() if self.tree.entries[v].type != DIR}
        if len(files) == 1 and len(sel.files) == 1:  # one file, maybe renamed by its destination
            return next(iter(files.values()))
        best = [k for k in files if path == k or path.endswith("/" + k)]
        return files[max(best, key=len)] if best else None
