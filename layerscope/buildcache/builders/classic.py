"""The classic builder (`DOCKER_BUILDKIT=0`): a chain of images keyed by (parent image, config, command).
Every instruction but FROM is a step, the first miss invalidates the rest of the stage, and every stage up to
the target is built in file order.
"""

from __future__ import annotations

from layerscope.buildcache.builders.plan import BUILD_ARG, PROXY_ARGS, Component, PlannedStep, StageState
from layerscope.buildcache.builders.source_keys import copy_words, source_components
from layerscope.buildcache.builders.walk import Walker, unquote_pairs
from layerscope.buildfile.expand import expand
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import PLATFORM_ARGS, Stage, arg_declarations
from layerscope.errors import UnsupportedError


def needs_buildkit(ins: Instruction, what: str) -> UnsupportedError:
    return UnsupportedError(
        f"Dockerfile line {ins.line}: the classic builder does not support {what} (it needs BuildKit)"
    )


class ClassicWalker(Walker):
    builder = "classic"

    def stages_to_build(self, target: Stage) -> set[int]:
        if self.build.contexts:  # `docker build` without BuildKit has no --build-context flag at all
            names = ", ".join(sorted(self.build.contexts))
            raise UnsupportedError(
                f"the classic builder does not support named build contexts (--build-context {names}): they need"
                " BuildKit (docker buildx build) or buildah"
            )
        return set(range(target.index + 1))

    def inherit(self, state: StageState, parent: StageState) -> None:
        super().inherit(state, parent)
        state.inherited_args = {}  # build args are reset per stage (ResetAllowed)

    def start(self, stage: Stage, state: StageState) -> PlannedStep:
        flag = stage.from_ins.flag("platform")
        if flag is not None:
            # 20.10's classic builder predefines no platform ARGs: `$BUILDPLATFORM` expands to "" and the build
            # fails with `failed to parse platform` (observed: app-platform-buildplatform)
            declared = {
                name
                for ins in self.df.global_args
                for name, default in arg_declarations(ins, {}, self.df.escape, self.df.budget)
                if default is not None or name in self.build.build_args
            }
            values = {k: v for k, v in self.globals.items() if k not in PLATFORM_ARGS or k in declared}
            if not expand(flag, values, self.df.escape, self.df.budget):
                raise UnsupportedError(
                    f"Dockerfile line {stage.from_ins.line}: FROM --platform={flag} is empty for the classic"
                    " builder (it predefines no platform ARGs such as BUILDPLATFORM; they need BuildKit)"
                )
        return self.start_chain(stage, state)

    def step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        kw = ins.keyword
        values = state.values()
        refs = self.ref_components(state, ins, inherited=False)
        if kw == "RUN":
            for flag in ("mount", "network", "security"):
                if ins.flag(flag) is not None:
                    raise needs_buildkit(ins, f"RUN --{flag}")
            if ins.heredocs:
                raise needs_buildkit(ins, "heredocs")
            cmd = ins.args if ins.json else (*state.shell, " ".join(ins.args))
            args = self.arg_components(state, inherited=False)
            comps = [self.definition(ins, repr(cmd)), *args]
            # the probe's Cmd gets a `|N K=V ...` prefix when any allowed build arg has a value; undeclared proxy
            # args count for switching the prefix on, but their values are left out of it (`prependEnvOnCmd`):
            # observed on 20.10, a lone HTTP_PROXY turns `/bin/sh -c x` into `|0 /bin/sh -c x` (misses), next to
            # a declared arg it changes nothing
            proxies = sorted(k for k in PROXY_ARGS & self.build.build_args.keys() if k not in state.args)
            if proxies and not args:
                comps.append(Component("env:|0", "|0", BUILD_ARG, proxies[0]))
            return self.finish(stage, state, ins, text, comps, deterministic=False)
        if kw in ("COPY", "ADD"):
            for flag in ("chmod", "link", "exclude", "parents"):  # observed: 20.10 rejects each as unknown
                if ins.has_flag(flag):
                    raise needs_buildkit(ins, f"{kw} --{flag}")
            if ins.heredocs:
                raise needs_buildkit(ins, "heredocs")
            srcs, dest = copy_words(ins, state, self.df.escape, self.df.budget)
            comps = [*refs, self.definition(ins, repr((kw, dest, ins.flag("chown"))))]
            comps += source_components(self.build, self.build_id, stage, self.states, ins, srcs, empty_ok=False)
            return self.finish(stage, state, ins, text, comps, path=dest)
        path = None
        if kw == "WORKDIR":
            value = path = self.workdir(state, ins)
        elif kw in ("ENV", "LABEL"):
            value = repr([(k, expand(v, values, self.df.escape, self.df.budget)) for k, v in unquote_pairs(ins)])
        elif kw in ("USER", "EXPOSE", "VOLUME", "STOPSIGNAL"):
            value = repr([expand(a, values, self.df.escape, self.df.budget) for a in ins.args])
        elif kw == "ONBUILD":
            value = ins.trigger.original if ins.trigger is not None else ins.original
            refs = []
        else:  # ARG stores its Dockerfile default, CMD/ENTRYPOINT/SHELL/... their parsed value (not the spacing)
            value = repr((ins.json, ins.args, ins.flags))
            refs = []
        comps = [*refs, self.definition(ins, repr((kw, value)))]
        return self.finish(stage, state, ins, text, comps, path=path)
