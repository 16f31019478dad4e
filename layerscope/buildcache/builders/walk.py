"""The walk every builder model shares: stages in file order, the state instructions change (ENV, ARG,
USER, WORKDIR, SHELL), ONBUILD triggers of a parent stage, and turning a step's key inputs into a result.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

from layerscope.buildcache.builders.plan import (
    BASE,
    FILE_CONTENTS,
    INSTRUCTION,
    SESSION,
    BuildInput,
    Component,
    PlannedStep,
    Records,
    StageState,
    arg_component,
    digest,
    env_component,
    resolve_arg,
    step_key,
)
from layerscope.buildcache.builders.source_keys import context_selection
from layerscope.buildfile.expand import expand, references
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import NamedRef, Stage, arg_declarations, global_arg_values, stage_base, stage_parent


def unquote_pairs(ins: Instruction) -> list[tuple[str, str]]:
    """ENV / LABEL arguments as (name, raw value) pairs; the parser gives them flattened."""
    a = list(ins.args)
    return [(a[i], a[i + 1] if i + 1 < len(a) else "") for i in range(0, len(a), 2)]


class Walker:
    """Walks a Dockerfile for one build; subclasses say which instructions are steps and what keys them."""

    builder = ""
    context_first = False  # buildah: a named context wins over a stage of the same name
    session_keyed = False  # BuildKit: a directory context as a root filesystem is keyed by the build session

    def __init__(self, build: BuildInput, records: Records, build_id: str) -> None:
        self.build = build
        self.df = build.dockerfile
        self.records = records
        self.build_id = build_id
        self.globals = global_arg_values(self.df, build.build_args)
        self.states: dict[int, StageState] = {}
        self.names = build.names(self.context_first)

    # --- what subclasses provide -------------------------------------------------------------
    def stages_to_build(self, target: Stage) -> set[int]:
        raise NotImplementedError

    def start(self, stage: Stage, state: StageState) -> PlannedStep:
        raise NotImplementedError

    def step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        raise NotImplementedError

    def start_chain(self, stage: Stage, state: StageState) -> PlannedStep:
        """FROM for the chain builders (classic, buildah): no lookup; the base starts the chain."""
        ins = stage.from_ins
        parent = self.parent_stage(stage)
        if parent is not None:
            return self.none(stage, state, ins, ins.original, f"starts from stage {parent.label}'s image: no lookup")
        base = self.base_of(stage)
        if isinstance(base, NamedRef):
            self.context_root(state, base.name, ins.line)
            return PlannedStep(
                stage.label, ins.line, "FROM", ins.original, "none", state.slot("FROM"),
                note=f"the named context {self.build.contexts[base.name].spec}: no cache lookup",
                produces=state.chain, base_image=self.build.contexts[base.name].spec, output=state.output,
            )  # fmt: skip
        image = self.base_image(stage)
        if image == "scratch":
            state.chain = state.output = state.ochain = "scratch"
            return self.none(stage, state, ins, ins.original, "FROM scratch: no lookup")
        state.chain = state.output = state.ochain = digest("base", self.build.base_identity(image))
        state.writes.append(("/", "base:" + state.chain, 0))
        state.owrites.append(("/", "base:" + state.chain, 0))
        return PlannedStep(
            stage.label, ins.line, "FROM", ins.original, "none", state.slot("FROM"),
            note="the base image: no cache lookup", produces=state.chain, base_image=image, output=state.output,
        )  # fmt: skip

    # --- the walk ----------------------------------------------------------------------------
    def run(self) -> list[PlannedStep]:
        target = self.df.target_stage(self.build.target)
        built = self.stages_to_build(target)
        out: list[PlannedStep] = []
        for stage in self.df.stages:
            replacing = self.names.replaced(stage)
            if replacing is not None and stage.index in built:
                out += self.replaced(stage, replacing)
                continue
            if stage.index not in built:
                why = f"stage {stage.label} is not needed for target {target.label}"
                if stage.index > target.index:
                    why = f"stage {stage.label} comes after target {target.label}"
                for ins in (stage.from_ins, *stage.instructions):
                    out.append(PlannedStep(stage.label, ins.line, ins.keyword, ins.original, "skipped", note=why))
                continue
            state = StageState(stage.label)
            parent = self.parent_stage(stage)
            if parent is not None:
                self.inherit(state, self.states[parent.index])
            out.append(self.start(stage, state))
            triggers = list(self.states[parent.index].onbuild) if parent is not None else []
            for trig in triggers:
                self.before(stage, state, trig)
                out.append(self.step(stage, state, trig, "ONBUILD " + trig.original))
            for ins in stage.instructions:
                self.before(stage, state, ins)
                out.append(self.step(stage, state, ins, ins.original))
            self.states[stage.index] = state
        return out

    def replaced(self, stage: Stage, name: str) -> list[PlannedStep]:
        """BuildKit: a stage named like a named context is that context; none of its instructions run."""
        state = StageState(stage.label)
        self.context_root(state, name, stage.from_ins.line)
        self.states[stage.index] = state
        why = f"stage {stage.label} is replaced by the named context {self.build.contexts[name].spec}"
        first = self.none(stage, state, stage.from_ins, stage.from_ins.original, why + ": none of its steps run")
        session = self.session_component(name)
        out = [replace(first, produces=state.chain, forced_miss=session) if session is not None else first]
        for ins in stage.instructions:
            out.append(PlannedStep(stage.label, ins.line, ins.keyword, ins.original, "skipped", note=why))
        return out

    def context_root(self, state: StageState, name: str, line: int) -> Component:
        """A stage state whose filesystem is a named context (FROM NAME, or a stage it replaces)."""
        ctx = self.build.contexts[name]
        if ctx.tree is None:
            comp = Component("base", self.build.context_identity(name), BASE, ctx.spec)
        else:
            sel = context_selection(ctx, ["."], line)
            comp = Component(f"base:{name}", sel.digest(), FILE_CONTENTS, "", selection=sel)
        state.chain = state.output = digest("context", name, comp.value)
        state.writes.append(("/", "base:" + state.chain, 0))
        state.owrites.append(("/", "base:" + state.chain, 0))
        if self.session_component(name) is not None:  # what builds on it is keyed by this build's session
            state.chain = digest("session", self.build_id, name)
        state.ochain = state.chain
        return comp

    def session_component(self, name: str) -> Component | None:
        """BuildKit: a directory context is a local source keyed by the build's session, so the steps built on
        it (not those copying from it: they are keyed by content) run again on every build (observed, 28.5)."""
        ctx = self.build.contexts[name]
        if not self.session_keyed or ctx.tree is None:
            return None
        return Component(SESSION, ctx.spec, BASE, ctx.spec)

    def base_of(self, stage: Stage) -> Stage | NamedRef | str:
        """What a stage is built FROM: an earlier stage, a named context, or an image ("scratch" included)."""
        parent = stage_parent(self.df, stage, self.build.build_args, self.names)
        if isinstance(parent, NamedRef):  # a stage the context replaces: built on that stage's state
            found = self.df.find_stage(stage_base(self.df, stage, self.build.build_args), before=stage.index)
            if found is not None and self.names.replaced(found) == parent.name:
                return found
        return parent if parent is not None else stage_base(self.df, stage, self.build.build_args)

    def parent_stage(self, stage: Stage) -> Stage | None:
        base = self.base_of(stage)
        return base if isinstance(base, Stage) else None

    def base_image(self, stage: Stage) -> str:
        return stage_base(self.df, stage, self.build.build_args)

    def inherit(self, state: StageState, parent: StageState) -> None:
        state.env, state.order = dict(parent.env), dict(parent.order)
        state.cwd, state.user, state.shell = parent.cwd, parent.user, parent.shell
        state.cwd_as_set = parent.cwd_as_set
        state.config = list(parent.config)
        state.chain, state.output, state.output_line = parent.chain, parent.output, parent.output_line
        state.writes = list(parent.writes)
        state.ochain, state.owrites = parent.ochain, list(parent.owrites)
        state.inherited_args = {**parent.inherited_args, **parent.args}

    def before(self, stage: Stage, state: StageState, ins: Instruction) -> None:
        """State changes every builder applies (the key effects are the subclasses' business)."""
        values = state.values()
        kw = ins.keyword
        if kw == "ENV":
            arg_names = {k for k, v in {**state.inherited_args, **state.args}.items() if v is not None}
            for name, raw in unquote_pairs(ins):
                value = expand(raw, values, self.df.escape, self.df.budget)
                state.env[name] = env_component(name, value, ins.line, raw, arg_names)
                state.order.setdefault(name, len(state.order))
                values[name] = value
        elif kw == "ARG":
            for name, default in arg_declarations(ins, values, self.df.escape, self.df.budget):
                state.args[name] = resolve_arg(name, default, self.build, self.globals)
                if state.args[name] is not None:
                    state.order.setdefault(name, len(state.order))
        elif kw == "USER":
            state.user = expand(ins.args[0], values, self.df.escape, self.df.budget)
        elif kw == "SHELL":
            state.shell = tuple(ins.args)
        elif kw == "ONBUILD" and ins.trigger is not None:
            state.onbuild.append(ins.trigger)

    def workdir(self, state: StageState, ins: Instruction) -> str:
        path = expand(ins.args[0], state.values(), self.df.escape, self.df.budget)
        state.cwd = posixpath.normpath(posixpath.join(state.cwd, path))
        state.cwd_as_set = path if posixpath.isabs(path) else state.cwd
        return state.cwd

    def valued_args(self, state: StageState, inherited: bool) -> list[tuple[str, str]]:
        """ARGs with a value that reach a RUN (ENV of the same name masks them)."""
        scope = {**state.inherited_args, **state.args} if inherited else dict(state.args)
        return [(k, v) for k, v in scope.items() if v is not None and k not in state.env]

    def ref_components(self, state: StageState, ins: Instruction, inherited: bool = True) -> list[Component]:
        """Variables an instruction expands, so that a changed value is blamed on its ENV or build arg."""
        names = references(ins.original)
        out = [c for k, c in state.env.items() if k in names]
        out += [arg_component(k, v) for k, v in self.valued_args(state, inherited) if k in names]
        return out

    def arg_components(self, state: StageState, inherited: bool) -> list[Component]:
        return [arg_component(k, v) for k, v in self.valued_args(state, inherited)]

    # --- results -----------------------------------------------------------------------------
    def finish(
        self,
        stage: Stage,
        state: StageState,
        ins: Instruction,
        text: str,
        components: list[Component],
        *,
        parents: tuple[str, ...] | None = None,
        deterministic: bool = True,
        note: str | None = None,
        forced_miss: Component | None = None,
        link: bool = False,
        path: str | None = "/",
    ) -> PlannedStep:
        """Key a step, look it up in the records, and move the stage state on."""
        oparents = (state.ochain,) if parents is None else parents
        parents = (state.chain,) if parents is None else parents
        comps = tuple(components)
        ocomps = tuple(replace(c, value=c.optimistic) if c.optimistic is not None else c for c in comps)
        key = step_key(parents, comps, ins.keyword)
        okey = step_key(oparents, ocomps, ins.keyword)
        hit = self.records.has(key) and forced_miss is None
        # a miss only because a step re-run in this build may have written other bytes: the builder decides
        # by comparing bytes we cannot know before the build
        depends = not hit and okey != key and self.records.output_if_same(okey) is not None and forced_miss is None
        produces = oproduces = None
        if link:  # BuildKit COPY --link: the copy is keyed alone; a merge puts it on the chain
            produces, oproduces = digest("merge", state.chain, key), digest("merge", state.ochain, okey)
        own = digest(ins.keyword, tuple((c.name, c.value) for c in comps))  # the step alone, without its chain
        oown = digest(ins.keyword, tuple((c.name, c.value) for c in ocomps))
        slot = state.slot(ins.keyword)
        if hit:
            token = otoken = self.records.outputs[key]
        elif deterministic or self.build.is_reproducible(stage, ins):
            token, otoken = "same:" + own, "same:" + oown  # a copy of identical files, or a declared reproducible step
        else:  # re-executed: assume different bytes (timestamps, build ids) unless declared reproducible
            token = f"run:{self.build_id}:{ins.line}"
            otoken = self.records.by_slot.get(slot, token)  # optimistic: what it wrote last time
        if depends:
            otoken = self.records.output_if_same(okey) or otoken
        if path is not None:
            state.writes.append((path, token, ins.line))
            state.owrites.append((path, otoken, ins.line))
        output = digest(state.output, token)
        state.chain = produces or key
        state.ochain = oproduces or okey
        state.output = output
        state.ran = state.ran or not hit
        return PlannedStep(
            stage.label, ins.line, ins.keyword, text, "step", slot, key, parents, comps,
            note, produces, None, hit, forced_miss, token, depends, okey,
        )  # fmt: skip

    def none(self, stage: Stage, state: StageState, ins: Instruction, text: str, note: str) -> PlannedStep:
        return PlannedStep(stage.label, ins.line, ins.keyword, text, "none", state.slot(ins.keyword), note=note)

    def definition(self, ins: Instruction, value: str, name: str = "definition") -> Component:
        return Component(name, value, INSTRUCTION, f"{ins.keyword} (line {ins.line})")
