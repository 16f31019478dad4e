"""BuildKit (Docker 28.5's): a content-addressed graph. Only FROM, RUN, COPY/ADD and WORKDIR are vertices;
changes travel along graph edges only; COPY sources and bind mounts are keyed by content, so an upstream
rebuild with identical files still hits downstream; `COPY --link` copies onto scratch (containerd store).
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

from layerscope.buildcache.builders.mounts import parse_mounts
from layerscope.buildcache.builders.plan import (
    BASE,
    BUILD_ARG,
    FILE_CONTENTS,
    INSTRUCTION,
    Component,
    PlannedStep,
    StageState,
    digest,
)
from layerscope.buildcache.builders.source_keys import (
    context_selection,
    copy_words,
    heredoc_components,
    source_components,
    stage_content,
)
from layerscope.buildcache.builders.walk import Walker
from layerscope.buildfile.directives import read_directives
from layerscope.buildfile.expand import expand
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import PLATFORM_ARGS, NamedRef, Stage, from_target, reachable_stages
from layerscope.errors import FormatError, UnsupportedError

CONFIG_ONLY = "config only: no cache step in BuildKit"
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


def platform_key(flag: str) -> str:
    """The platform a FROM's vertex is keyed with: the `--platform` value normalized (containerd
    `platforms.Normalize`), and with no flag the build's target platform. So `--platform=linux/amd64` or
    `$BUILDPLATFORM` on an amd64 build keys as no flag at all (observed on 28.5: app-platform-added)."""
    parts = (flag or PLATFORM_ARGS["TARGETPLATFORM"]).lower().split("/")
    if len(parts) == 1:  # `linux` or `arm64` alone: the other part is the default's
        default_os, default_arch = PLATFORM_ARGS["TARGETOS"], PLATFORM_ARGS["TARGETARCH"]
        parts = [parts[0], default_arch] if parts[0] in ("linux", "windows", "darwin") else [default_os, parts[0]]
    os_, arch, variant = parts[0], _ARCH_ALIASES.get(parts[1], parts[1]), "/".join(parts[2:])
    if (arch, variant) in (("arm64", "v8"), ("amd64", "v1")):  # the default variants are dropped
        variant = ""
    return "/".join(p for p in (os_, arch, variant) if p)


class BuildKitWalker(Walker):
    builder = "buildkit"
    session_keyed = True
    cache_ids_keyed = False  # v0.13+ blanks explicit cache mount ids and sharing out of the key
    epoch_stamped = True  # v0.11+ stamps SOURCE_DATE_EPOCH into WORKDIR's mkdir
    empty_subdir_fails = True  # an empty wildcard in a subdirectory fails the COPY (28.5; 20.10 copies nothing)

    def stages_to_build(self, target: Stage) -> set[int]:
        return reachable_stages(self.df, target, self.build.build_args, self.names)

    def start(self, stage: Stage, state: StageState) -> PlannedStep:
        ins = stage.from_ins
        image = self.base_image(stage)
        parent = self.base_of(stage)
        if isinstance(parent, Stage):
            return self.none(stage, state, ins, ins.original, f"continues stage {parent.label}: no vertex of its own")
        if isinstance(parent, NamedRef):  # FROM a named context: its source is the stage's first vertex
            base = self.context_root(state, parent.name, ins.line)
            session = self.session_component(parent.name)
            if session is not None:  # a directory: loaded again on every build, and so is all built on it
                chain = state.chain
                step = self.finish(stage, state, ins, ins.original, [base], parents=(chain,), path=None,
                                   forced_miss=session)  # fmt: skip
                return step
            step = self.finish(stage, state, ins, ins.original, [base], parents=(), path=None)
            return replace(step, base_image=self.build.contexts[parent.name].spec)
        if image == "scratch":
            state.chain = state.output = state.ochain = "scratch"
            return self.none(stage, state, ins, ins.original, "FROM scratch: an empty filesystem, nothing to pull")
        platform = platform_key(expand(ins.flag("platform") or "", self.globals, self.df.escape, self.df.budget))
        base = Component("base", self.build.base_identity(image) + "|" + platform, BASE, image)
        state.writes.append(("/", "base:" + base.value, 0))
        state.owrites.append(("/", "base:" + base.value, 0))
        return self.finish(stage, state, ins, ins.original, [base], parents=(), path=None)

    def step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        kw = ins.keyword
        if kw == "RUN":
            return self.run_step(stage, state, ins, text)
        if kw in ("COPY", "ADD"):
            return self.copy_step(stage, state, ins, text)
        if kw == "WORKDIR":
            path = self.workdir(state, ins)
            if path == "/":
                return self.none(stage, state, ins, text, "WORKDIR /: no mkdir vertex")
            comps = [
                *self.ref_components(state, ins),
                self.definition(ins, path),
                Component("user", state.user, INSTRUCTION, "USER"),
            ]
            if self.epoch_stamped and "SOURCE_DATE_EPOCH" in self.build.build_args:  # stamped into the mkdir op
                comps.append(
                    Component("epoch", self.build.build_args["SOURCE_DATE_EPOCH"], BUILD_ARG, "SOURCE_DATE_EPOCH")
                )
            return self.finish(stage, state, ins, text, comps, path=path)
        if kw == "ONBUILD":
            return self.none(stage, state, ins, text, "config only: the trigger runs in stages built FROM this one")
        return self.none(stage, state, ins, text, CONFIG_ONLY)

    def run_step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        body = ins.args if ins.json else (" ".join(ins.args),)
        docs = [h.content for h in ins.heredocs]
        if not ins.json and len(ins.args) == 1 and len(ins.heredocs) == 1 and ins.args[0].startswith("<<"):
            # `RUN <<EOF` alone: the body is the script (`/bin/sh -c <body>`), so the delimiter and its quoting
            # are in no key (observed on 28.5); `<<-` strips the body's leading tabs first
            chomp = ins.args[0].startswith("<<-")
            docs = ["\n".join(x.lstrip("\t") for x in d.split("\n")) if chomp else d for d in docs]
            body = ("<<heredoc",)
        shell: tuple[str, ...] | None = None if ins.json else state.shell
        if ins.json and len(ins.args) >= 2 and ins.args[-2] == "-c" and not docs:
            # the ExecOp keys its argv: `RUN ["/bin/sh", "-c", "x"]` is `RUN x` (observed on 28.5)
            shell, body = tuple(ins.args[:-1]), (ins.args[-1],)
        comps = [self.definition(ins, repr((body, docs, shell is None)))]
        if shell is not None:
            comps.append(Component("shell", repr(shell), INSTRUCTION, "SHELL"))
        comps.append(self.definition(ins, repr((ins.flag("network"), ins.flag("security"))), "flags"))
        comps += [
            # observed on 28.5: `WORKDIR /app/` hits the mkdir of `/app` but misses the RUNs after it
            Component("cwd", state.cwd_as_set, INSTRUCTION, "WORKDIR"),
            Component("user", state.user, INSTRUCTION, "USER"),
        ]
        # the ExecOp's Env is ordered: ENV and valued ARGs in the order they entered it (moving one misses)
        env = list(state.env.values()) + self.arg_components(state, inherited=True)
        comps += sorted(env, key=lambda c: state.order.get(c.name[4:], len(state.order)))
        values = state.values()
        for m in parse_mounts(ins):
            target = expand(m.target, values, self.df.escape, self.df.budget)
            origin = m.get("from")
            if m.type == "cache":
                cid, sharing = m.get("id") or target, m.get("sharing", "shared")
                blank = not self.cache_ids_keyed and not (cid == target and sharing == "shared")
                opts = (
                    target,
                    "" if blank else cid,
                    "" if blank else sharing,
                    m.get("uid"),
                    m.get("gid"),
                    m.get("mode"),
                )
                comps.append(self.definition(ins, repr(("cache", *opts, origin)), f"mount:{target}"))
            elif m.type == "bind":
                source = expand(m.get("source", "."), values, self.df.escape, self.df.budget)
                comps.append(self.definition(ins, repr(("bind", target, m.readonly, origin)), f"mount:{target}"))
                comps += self.bind_content(stage, ins, origin, source, target)
            elif m.type in ("secret", "ssh"):
                opts = (m.get("id"), target, m.get("uid"), m.get("gid"), m.get("mode"), m.get("required"))
                comps.append(self.definition(ins, repr((m.type, *opts)), f"mount:{m.type}:{m.get('id')}"))
            else:
                comps.append(self.definition(ins, repr((m.type, target, m.get("size"))), f"mount:{target}"))
        return self.finish(stage, state, ins, text, comps, deterministic=False)

    def bind_content(self, stage: Stage, ins: Instruction, origin: str, source: str, target: str) -> list[Component]:
        if not origin:
            fake = Instruction("COPY", (source, "/"), (), ins.line, ins.end_line, ins.original)
            return source_components(
                self.build, self.build_id, stage, self.states, fake, [source], name=f"mount-files:{target}"
            )
        ref = from_target(self.df, stage, origin, ins.line, self.build.build_args, self.names)
        if isinstance(ref, Stage):
            return [stage_content(ref.label, self.states[ref.index], [source])]
        if isinstance(ref, NamedRef):
            ctx = self.build.contexts[ref.name]
            if ctx.tree is not None:  # read-only bind of a directory context: keyed by the mounted content
                sel = context_selection(ctx, [source], ins.line)
                return [Component(f"mount-files:{target}:{ctx.name}", sel.digest(), FILE_CONTENTS, "", selection=sel)]
            ident = digest(self.build.context_identity(ctx.name), source)
            return [Component(f"mount-image:{target}", ident, BASE, ctx.spec)]
        return [Component(f"mount-image:{target}", digest(self.build.base_identity(ref), source), BASE, ref)]

    def copy_step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        srcs, dest = copy_words(ins, state, self.df.escape, self.df.budget)
        values = state.values()
        excludes = tuple(expand(e, values, self.df.escape, self.df.budget) for e in ins.flag_values("exclude"))
        chown, chmod = ins.flag("chown"), ins.flag("chmod")
        parents_flag = ins.has_flag("parents")
        if parents_flag and "labs" not in read_directives(self.df.text).get("syntax", ""):
            # observed on 28.5: the built-in frontend refuses it; only the labs frontend (`# syntax=...-labs`) has it
            raise UnsupportedError(
                f"Dockerfile line {ins.line}: COPY --parents needs the labs Dockerfile frontend "
                "(# syntax=docker/dockerfile:1-labs); BuildKit's built-in frontend refuses it"
            )
        # --chmod disables --link (convert_copy.go); the overlay2 store has no MergeOp at all
        link = ins.has_flag("link") and chmod is None and self.build.image_store == "containerd"
        definition = (
            ins.keyword,
            [_clean(s) for s in srcs if not s.startswith("<<")],
            dest,
            chown,
            chmod,
            excludes,
            parents_flag,
        )
        comps = [*self.ref_components(state, ins), self.definition(ins, repr(definition))]
        comps += source_components(
            self.build,
            self.build_id,
            stage,
            self.states,
            ins,
            srcs,
            excludes=excludes,
            parents=parents_flag,
            names=self.names,
        )
        for c in comps:
            # an empty wildcard copies nothing, but only at the context root: in a subdirectory, that directory
            # is not transferred when nothing under it matches (observed on 28.5: `lstat /src: no such file`)
            deep = [w for w in c.selection.empty_wildcards if "/" in w.strip("/")] if c.selection else []
            deep = deep if self.empty_subdir_fails else []
            if deep:
                folder = "/" + posixpath.dirname(posixpath.normpath(deep[0]).lstrip("/"))
                raise FormatError(f"Dockerfile line {ins.line}: {deep[0]} matches nothing: the build fails "
                                  f"(lstat {folder}: no such file or directory)")  # fmt: skip
        if not any(c.name.startswith("heredoc:") for c in comps):
            comps += heredoc_components(ins, [])
        return self.finish(stage, state, ins, text, comps, parents=() if link else None, link=link, path=dest)


# the RUN --mount options of the v0.8 frontend (runmount.go), aliases folded as mounts.py does
MOUNT_KEYS_20 = frozenset(
    {"from", "source", "target", "readonly", "rw", "id", "sharing", "required", "mode", "uid", "gid"}
)


class BuildKit20Walker(BuildKitWalker):
    """The BuildKit built into Docker 20.10 (v0.8 line) with its built-in Dockerfile frontend: `docker build`
    has no --build-context; the frontend knows no heredocs and no COPY --link, --exclude or --parents; the
    solver keys cache mount ids (before v0.13) and does not stamp WORKDIR with SOURCE_DATE_EPOCH (before v0.11)."""

    builder = "buildkit-20.10"
    cache_ids_keyed = True
    epoch_stamped = False
    empty_subdir_fails = False  # observed: `COPY src/*.none ...` copies nothing; the build goes on

    def stages_to_build(self, target: Stage) -> set[int]:
        if self.build.contexts:
            names = ", ".join(sorted(self.build.contexts))
            raise UnsupportedError(
                f"Docker 20.10's docker build has no --build-context ({names}): named contexts came with buildx"
            )
        return super().stages_to_build(target)

    def step(self, stage: Stage, state: StageState, ins: Instruction, text: str) -> PlannedStep:
        if ins.heredocs:
            raise too_new(ins, "heredocs")
        for flag in ("network", "security") if ins.keyword == "RUN" else ():  # observed: `Unknown flag: network`
            if ins.has_flag(flag):
                raise too_new(ins, f"RUN --{flag}")
        for m in parse_mounts(ins) if ins.keyword == "RUN" else []:
            unknown = sorted({k for k, _ in m.options} - MOUNT_KEYS_20)
            if unknown:  # observed: `unexpected key 'size' in 'size=1m'` (tmpfs size came with dockerfile 1.4)
                raise too_new(ins, f"the --mount option {unknown[0]}")
        if ins.keyword in ("COPY", "ADD"):
            for flag in ("link", "exclude", "parents"):
                if ins.has_flag(flag):
                    raise too_new(ins, f"{ins.keyword} --{flag}")
        return super().step(stage, state, ins, text)


def too_new(ins: Instruction, what: str) -> UnsupportedError:
    return UnsupportedError(f"Dockerfile line {ins.line}: Docker 20.10's BuildKit does not support {what}")


def _clean(src: str) -> str:
    """A source path as BuildKit keys it: `./a.txt` is `a.txt`, `src/` is `src` (observed on 28.5)."""
    if "://" in src:
        return src
    return posixpath.normpath(src).lstrip("/") or "."
