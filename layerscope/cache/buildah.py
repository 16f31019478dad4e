"""buildah with `--layers`: a chain of intermediate images keyed by history `created_by`, which holds the
raw instruction text (so `ENV X=$ARG` keeps a stale value), COPY/ADD run before the lookup, and the first
miss stops lookups for the rest of the stage.
"""

from __future__ import annotations

from layerscope.buildfile.expand import expand
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import NamedRef, Stage, from_target, reachable_stages
from layerscope.cache.mounts import parse_mounts
from layerscope.cache.plan import BASE, EARLIER, FILE, Component, PlannedStep, StageState
from layerscope.cache.sources import context_selection, copy_words, source_components, stage_content
from layerscope.cache.walk import Walker
from layerscope.errors import UnsupportedError

COPIED_FIRST = "copied again before the lookup (buildah executes COPY/ADD to compute its key)"


class BuildahWalker(Walker):
    builder = "buildah"
    context_first = True  # a named context wins over a stage of the same name (buildah-build(1))

    def stages_to_build(self, target: Stage) -> set[int]:
        layouts = sorted(n for n, c in self.build.contexts.items() if c.kind == "oci-layout")
        if layouts:  # buildah-build(1), 1.28: a directory, an HTTP(S) tarball, or container-image:// docker://
            raise UnsupportedError(
                f"buildah does not take oci-layout:// build contexts (--build-context {', '.join(layouts)}): only"
                " directories and images (docker-image://)"
            )
        return reachable_stages(self.df, target, self.build.build_args, self.names)

    def start(self, stage: Stage, state: StageState) -> PlannedStep:
        base = self.base_of(stage)
        if isinstance(base, NamedRef) and self.build.contexts[base.name].tree is not None:
            # observed with buildah 1.28: FROM takes only an image context; a directory's name is pulled as an image
            raise UnsupportedError(
                f"Dockerfile line {stage.from_ins.line}: buildah cannot build FROM the directory context {base.name}"
                f" (it looks {base.name!r} up as an image)"
            )
        return self.start_chain(stage, state)

    def step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        kw = ins.keyword
        raw = ins.original.split(None, 1)[1] if " " in ins.original.strip() else ""
        if kw == "RUN":
            return self.run_step(stage, state, ins, text, raw)
        if kw in ("COPY", "ADD"):
            srcs, dest = copy_words(ins, state, self.df.escape, self.df.budget)
            excludes = tuple(
                expand(e, state.values(), self.df.escape, self.df.budget) for e in ins.flag_values("exclude")
            )
            link = " --link" if ins.has_flag("link") else ""
            created_by = f"{kw}{link} in {ins.args[-1]}"  # the raw destination, not the expanded one
            comps = [self.definition(ins, created_by)]
            comps += source_components(
                self.build, stage, self.states, ins, srcs,
                excludes=excludes, parents=ins.has_flag("parents"), chmod=ins.flag("chmod"), empty_ok=False,
                names=self.names,
            )  # fmt: skip
            comps.append(self.definition(ins, repr((ins.flag("chown"), ins.flag("chmod"))), "owner"))
            return self.finish(stage, state, ins, text, comps, note=COPIED_FIRST, path=dest)
        if kw == "ARG":
            named = sorted(
                n for n, v in state.args.items() if v is not None and n in {a.split("=")[0] for a in ins.args}
            )
            comps = [self.definition(ins, "ARG " + " ".join(named))]
            return self.finish(stage, state, ins, text, comps, path=None)
        path = self.workdir(state, ins) if kw == "WORKDIR" else None
        # everything else: "/bin/sh -c #(nop) " + the raw text: $VAR references are not expanded
        return self.finish(stage, state, ins, text, [self.definition(ins, f"{kw} {raw}")], path=path)

    def run_step(self, stage: Stage, state: StageState, ins: Instruction, text: str, raw: str) -> PlannedStep:
        comps = [self.definition(ins, repr((state.shell, raw)))]
        comps += self.arg_components(state, inherited=False)
        forced = None
        for m in parse_mounts(ins):
            if m.type != "bind":
                continue
            origin = m.get("from")
            if not origin:  # the raw directory, ignore file not consulted
                fake = Instruction("COPY", (m.get("source", "."), "/"), (), ins.line, ins.end_line, ins.original)
                comps += source_components(
                    self.build, stage, self.states, fake, [m.get("source", ".")],
                    name=f"mount-files:{m.target}", apply_ignore=False,
                )  # fmt: skip
                continue
            ref = from_target(self.df, stage, origin, ins.line, self.build.build_args, self.names)
            if isinstance(ref, NamedRef):
                ctx = self.build.contexts[ref.name]
                if ctx.tree is not None:
                    sel = context_selection(ctx, [m.get("source", ".")], ins.line, apply_ignore=False)
                    comps.append(Component(f"mount-files:{m.target}:{ctx.name}", sel.digest(), FILE, "", selection=sel))
                else:
                    comps.append(Component(f"mount-image:{m.target}", self.build.context_identity(ctx.name), BASE,
                                           ctx.spec))  # fmt: skip
            elif isinstance(ref, Stage):
                src = self.states[ref.index]
                if src.ran:  # lookups are skipped when the mounted stage executed anything in this build
                    forced = Component(f"from:{ref.label}", "ran", EARLIER, f"stage {ref.label}")
                comps.append(stage_content(ref.label, src, [m.get("source", "/")]))
        return self.finish(stage, state, ins, text, comps, deterministic=False, forced_miss=forced)
