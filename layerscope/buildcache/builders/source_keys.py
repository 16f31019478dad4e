"""COPY/ADD sources and bind-mount sources as key components, shared by the builder models."""

from __future__ import annotations

import posixpath

from layerscope.buildcache.builders.plan import (
    BASE,
    EARLIER,
    FILE_CONTENTS,
    INSTRUCTION,
    BuildInput,
    Component,
    ContextInput,
    StageState,
    digest,
    read_paths,
)
from layerscope.buildfile.context import ContextTree, Fingerprint, Selection, select
from layerscope.buildfile.expand import ExpansionBudget, expand
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import NamedRef, Names, Stage, from_target
from layerscope.errors import FormatError


def is_url(src: str) -> bool:
    return src.startswith(("http://", "https://", "git@")) or (src.endswith(".git") and "://" in src)


def copy_words(
    ins: Instruction, state: StageState, escape: str, budget: ExpansionBudget | None = None
) -> tuple[list[str], str]:
    """Expanded sources and the destination resolved against WORKDIR (a trailing "/" kept)."""
    values = state.values()
    words = [expand(a, values, escape, budget) if not a.startswith("<<") else a for a in ins.args]
    srcs, dest = words[:-1], words[-1]
    if not posixpath.isabs(dest):
        trailing = dest.endswith("/") or dest in (".", "")
        dest = posixpath.normpath(posixpath.join(state.cwd, dest)) + ("/" if trailing else "")
    return srcs, dest


def heredoc_components(ins: Instruction, srcs: list[str]) -> list[Component]:
    out = []
    for doc in ins.heredocs:
        if any(s.lstrip("<-").strip("\"'") == doc.name for s in srcs):
            out.append(
                Component(f"heredoc:{doc.name}", doc.content, INSTRUCTION, f"{ins.keyword} heredoc (line {ins.line})")
            )
    return out


def stage_content(label: str, src_state: StageState, paths: list[str], selector: object = None) -> Component:
    """What a COPY --from=<stage> (or a mount from it) reads: the stage's content at the selected paths."""
    paths = [posixpath.normpath(p) + ("/" if p.endswith("/") else "") for p in paths]  # /out/./app is /out/app
    value, line = read_paths(src_state, paths)
    same, _ = read_paths(src_state, paths, optimistic=True)
    why = f"line {line}" if line else f"stage {label}"
    optimistic = digest(same, selector) if same != value else None
    return Component(f"from:{label}", digest(value, selector), EARLIER, why, optimistic=optimistic)


def source_components(
    build: BuildInput,
    build_id: str,
    stage: Stage,
    states: dict[int, StageState],
    ins: Instruction,
    srcs: list[str],
    *,
    excludes: tuple[str, ...] = (),
    parents: bool = False,
    chmod: str | None = None,
    name: str = "files",
    apply_ignore: bool = True,
    empty_ok: bool = True,
    names: Names | None = None,
) -> list[Component]:
    """The content side of a COPY/ADD: context files, another stage, a named context, an image, a URL or a
    heredoc. `build_id` names this build within the simulation (the walker's: `build-0`, `current`, `commit-SHA`)."""
    local = [s for s in srcs if not s.startswith("<<")]
    out = heredoc_components(ins, srcs)
    origin = ins.flag("from")
    if origin:
        target = from_target(build.dockerfile, stage, origin, ins.line, build.build_args, names or build.names())
        if isinstance(target, Stage):
            return [*out, stage_content(target.label, states[target.index], local, (excludes, parents, chmod))]
        if isinstance(target, NamedRef):
            ctx = build.contexts[target.name]
            if ctx.tree is None:  # an image-like context: keyed like an image (--base-changed NAME)
                return [*out, Component("from-image", digest(build.context_identity(ctx.name), local), BASE, ctx.spec)]
            sel = context_selection(ctx, local, ins.line, excludes, parents, apply_ignore, empty_ok, chmod)
            return [*out, Component(f"{name}:{ctx.name}", sel.digest(), FILE_CONTENTS, "", selection=sel)]
        return [*out, Component("from-image", digest(build.base_identity(target), local), BASE, target)]
    urls = [s for s in local if is_url(s)]
    if urls:
        written = repr((urls, ins.flag("checksum")))
        if ins.flag("checksum") is None:
            # the builder fetches the URL (or clones the repository) and compares what it got: bytes that exist
            # only once the step runs. This build's fetch is its own; the same as the last one only if the
            # server says so (`depends`). Keyed by the walk's build id, not id(build): an object id is reused once
            # the object is freed (a replay's older builds), so two builds could share the fetch
            out.append(Component("url", f"{written}|fetched by build {build_id}", INSTRUCTION,
                                 f"ADD (line {ins.line})", optimistic=written))  # fmt: skip
        else:
            out.append(Component("url", written, INSTRUCTION, f"ADD (line {ins.line})"))
        local = [s for s in local if not is_url(s)]
    if local:
        sel = files_selection(build.context, local, ins.line, excludes, parents, apply_ignore, empty_ok, chmod)
        out.append(Component(name, sel.digest(), FILE_CONTENTS, "", selection=sel))
    return out


def files_selection(
    tree: ContextTree,
    srcs: list[str],
    line: int,
    excludes: tuple[str, ...] = (),
    parents: bool = False,
    apply_ignore: bool = True,
    empty_ok: bool = True,
    chmod: str | None = None,
) -> Selection:
    """What a COPY/ADD (or a bind mount) selects from a context directory, as the builder hashes it."""
    sel = select(tree, srcs, line, excludes=excludes, parents=parents, apply_ignore=apply_ignore)
    if sel.empty_wildcards and not empty_ok:  # only BuildKit allows a wildcard that matches nothing
        raise FormatError(f"Dockerfile line {line}: no source files were specified ({sel.empty_wildcards[0]})")
    if chmod is not None:  # buildah applies --chmod before hashing: source modes stop mattering
        files = {k: Fingerprint(v.type, 0, v.content) for k, v in sel.files.items()}
        sel = Selection(files, sel.missing, sel.empty_wildcards, sel.origins)
    return sel


def context_selection(
    ctx: ContextInput,
    srcs: list[str],
    line: int,
    excludes: tuple[str, ...] = (),
    parents: bool = False,
    apply_ignore: bool = True,
    empty_ok: bool = True,
    chmod: str | None = None,
) -> Selection:
    """`files_selection` in a named directory context; its paths are named `NAME:PATH` in messages."""
    assert ctx.tree is not None
    sel = files_selection(ctx.tree, srcs, line, excludes, parents, apply_ignore, empty_ok, chmod)
    origins = {k: f"{ctx.name}:{v}" for k, v in (sel.origins or {}).items()}
    missing = tuple(f"{ctx.name}:{m}" for m in sel.missing)
    return Selection(sel.files, missing, sel.empty_wildcards, origins)
