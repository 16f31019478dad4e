"""buildah with `--layers` (1.28, as the corpus in tests/buildcache/corpus recorded it): a chain of intermediate
images keyed by history `created_by`, which holds the instruction as written (`#(nop) ` + the original line,
keyword case and spacing included; RUN: the line after its first four characters), so `ENV X=$ARG` keeps a
stale value; COPY/ADD run before the lookup and hash the copied files with their host owners; the first miss
stops lookups for the rest of the stage.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import tarfile
import zlib

from layerscope.buildcache.builders.mounts import parse_mounts
from layerscope.buildcache.builders.plan import (
    BASE,
    EARLIER,
    FILE_CONTENTS,
    PROXY_ARGS,
    Component,
    PlannedStep,
    StageState,
)
from layerscope.buildcache.builders.source_keys import context_selection, copy_words, source_components, stage_content
from layerscope.buildcache.builders.walk import Walker
from layerscope.buildfile.context import FILE as FILE_TYPE
from layerscope.buildfile.context import Fingerprint, Selection
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import NamedRef, Stage, from_target, reachable_stages
from layerscope.errors import UnsupportedError

COPIED_FIRST = "copied again before the lookup (buildah executes COPY/ADD to compute its key)"
COPY_FLAGS = frozenset({"from", "chown", "chmod"})


def unsupported(ins: Instruction, what: str) -> UnsupportedError:
    return UnsupportedError(f"Dockerfile line {ins.line}: buildah 1.28 does not support {what}")


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
        if ins.heredocs:
            raise unsupported(ins, "heredocs")
        if kw == "RUN":
            return self.run_step(stage, state, ins, text, ins.original[4:])
        if kw in ("COPY", "ADD"):
            extra = sorted({k for k, _ in ins.flags} - COPY_FLAGS)
            if extra and kw == "COPY":
                raise unsupported(ins, f"COPY --{extra[0]} (only --chmod, --chown and --from)")
            srcs, dest = copy_words(ins, state, self.df.escape, self.df.budget)
            created_by = f"{kw} in {ins.args[-1]}"  # the raw destination, not the expanded one
            comps = [self.definition(ins, created_by)]
            comps += [self.owned(c, ins.flag("chown"), kw == "ADD") for c in source_components(
                self.build, self.build_id, stage, self.states, ins, srcs,
                chmod=ins.flag("chmod"), empty_ok=False, names=self.names,
            )]  # fmt: skip
            comps.append(self.definition(ins, repr(ins.flag("chmod")), "mode"))
            return self.finish(stage, state, ins, text, comps, note=COPIED_FIRST, path=dest)
        if kw == "ARG":
            named = sorted(
                n for n, v in state.args.items() if v is not None and n in {a.split("=")[0] for a in ins.args}
            )
            # observed (1.28): proxy build args given on the command line are part of every ARG step's key
            proxies = sorted(PROXY_ARGS & self.build.build_args.keys())
            comps = [self.definition(ins, "ARG " + " ".join(named) + "|" + repr(proxies))]
            return self.finish(stage, state, ins, text, comps, path=None)
        path = self.workdir(state, ins) if kw == "WORKDIR" else None
        # everything else: "/bin/sh -c #(nop) " + the line as written: $VAR references are not expanded
        return self.finish(stage, state, ins, text, [self.definition(ins, ins.original)], path=path)

    def owned(self, comp: Component, chown: str | None, add: bool = False) -> Component:
        """The copied files as buildah hashes them: the top directory's own mode left out, each file with its
        owner (--chown's, else the host's: observed on 1.28); ADD of a local archive: the extracted members."""
        sel = comp.selection
        if comp.cause_kind != FILE_CONTENTS or sel is None:
            return comp
        entries = self.build.context.entries
        files: dict[str, Fingerprint] = {}
        for name, fp in sel.files.items():
            origin = (sel.origins or {}).get(name)
            if origin is None:  # the directory a COPY of a directory starts from: its mode is not hashed
                files[name] = Fingerprint(fp.type, 0, fp.content)
                continue
            owner = chown if chown is not None else (entries[origin].owner if origin in entries else "")
            content = fp.content
            if add and fp.type == FILE_TYPE:
                content = archive_digest(self.build.context.read(origin)) or content
            files[name] = Fingerprint(fp.type, fp.mode, f"{content}|{_owner(owner)}")
        new = Selection(files, sel.missing, sel.empty_wildcards, sel.origins)
        return Component(comp.name, new.digest(), comp.cause_kind, comp.cause_name, new, comp.optimistic)

    def run_step(self, stage: Stage, state: StageState, ins: Instruction, text: str, raw: str) -> PlannedStep:
        comps = [self.definition(ins, repr((state.shell, raw)))]
        comps += self.arg_components(state, inherited=False)
        forced = None
        for flag in ("network", "security"):
            if ins.flag(flag) is not None:
                raise unsupported(ins, f"RUN --{flag}")
        for m in parse_mounts(ins):
            if m.type == "tmpfs" and m.get("size"):
                raise unsupported(ins, "RUN --mount=type=tmpfs,size=...")
            if m.type != "bind":
                continue
            origin = m.get("from")
            if not origin:  # observed (1.28): a bind mount of the context adds no checksum to the key
                continue
            ref = from_target(self.df, stage, origin, ins.line, self.build.build_args, self.names)
            if isinstance(ref, NamedRef):
                ctx = self.build.contexts[ref.name]
                if ctx.tree is not None:
                    sel = context_selection(ctx, [m.get("source", ".")], ins.line, apply_ignore=False)
                    comps.append(
                        Component(f"mount-files:{m.target}:{ctx.name}", sel.digest(), FILE_CONTENTS, "", selection=sel)
                    )
                else:
                    comps.append(Component(f"mount-image:{m.target}", self.build.context_identity(ctx.name), BASE,
                                           ctx.spec))  # fmt: skip
            elif isinstance(ref, Stage):
                src = self.states[ref.index]
                if src.ran:  # lookups are skipped when the mounted stage executed anything in this build
                    forced = Component(f"from:{ref.label}", "ran", EARLIER, f"stage {ref.label}")
                comps.append(stage_content(ref.label, src, [m.get("source", "/")]))
        return self.finish(stage, state, ins, text, comps, deterministic=False, forced_miss=forced)


def archive_digest(data: bytes) -> str | None:
    """What buildah's ADD keys for a local archive (observed on 1.28): the extracted members, whatever the
    compression and the members' mtimes; None when the file is no archive ADD extracts."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
            members = [(m.name, m.type, m.mode, m.linkname, m.uid, m.gid, _read(t, m)) for m in t.getmembers()]
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError):
        return None
    return "archive:" + hashlib.sha256(repr(members).encode()).hexdigest()


def _read(t: tarfile.TarFile, m: tarfile.TarInfo) -> str:
    fh = t.extractfile(m) if m.isfile() else None
    if fh is None:
        return ""
    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def _owner(owner: str) -> str:
    """uid:gid with names of the base's /etc/passwd resolved (only root is known there)."""
    if not owner:
        return "0:0"
    user, _, group = owner.partition(":")
    user = "0" if user == "root" else user
    group = group or user
    return f"{user}:{'0' if group == 'root' else group}"
