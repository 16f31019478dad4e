"""The builds a request describes: the earlier and the current build of a change (the context trees from disk,
git or `--against`, the Dockerfiles, the named contexts, the build args, the re-published base images), and the
paths and notes every simulation of a Dockerfile shares.
"""

from __future__ import annotations

import os

from layerscope.buildcache.builders.plan import BuildInput, ContextInput
from layerscope.buildcache.builders.table import builder_model, image_store
from layerscope.buildcache.inputs import edits, gitsrc
from layerscope.buildcache.inputs.contexts import DIR_CONTEXT, NamedContext
from layerscope.buildcache.request import BuildSpec, ChangeSpec
from layerscope.buildfile.context import DIR, FILE, ContextEntry, ContextTree, load_ignore
from layerscope.buildfile.stages import (
    Dockerfile,
    Names,
    bare_names,
    from_refs,
    from_target,
    load_dockerfile,
    stage_base,
)
from layerscope.errors import LayerscopeError, UnsafeInputError, UsageError
from layerscope.readfile import read_text


def inside(path: str, root: str) -> str | None:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return None if rel == ".." or rel.startswith("../") else rel.replace(os.sep, "/")


def read_dockerfile(path: str) -> str:
    return read_text(path, "Dockerfile")


def _dockerfile_text(tree: ContextTree, rel: str | None, fallback: str) -> str:
    if rel is not None and rel in tree.entries:
        return tree.read(rel).decode("utf-8", "replace")
    return fallback


def _mark_changed(new: ContextTree, paths: tuple[str, ...], context: str) -> ContextTree:
    """The earlier context for `--changed`: the same tree, the listed paths with unknown (other) content."""
    old = ContextTree(dict(new.entries), new.read, new.digest)
    old.ignore = new.ignore
    for raw in paths:
        rel = inside(raw if os.path.isabs(raw) else os.path.join(context, raw), context)
        if rel is None:
            raise UnsafeInputError(f"--changed {raw}: the path is outside the context {context}")
        rel = rel.strip("/")
        if rel not in old.entries:  # deleted since the last build
            old.entries[rel] = ContextEntry(rel, FILE, 0o644)
        old.changed.add(rel)
        if old.entries[rel].type == DIR:
            old.changed.update(p for p in old.entries if p.startswith(rel + "/"))
    return old


def _matches_image(given: str, image: str) -> bool:
    def norm(name: str) -> str:
        for prefix in ("docker.io/library/", "docker.io/", "library/"):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        return name

    g, i = norm(given), norm(image)
    return g == i or (":" not in g and "@" not in g and i.split("@")[0].rsplit(":", 1)[0] == g)


def _base_images(df: Dockerfile, args: dict[str, str], contexts: Names) -> set[str]:
    """Images the build reads: FROM bases, and images COPY --from or RUN --mount from= take files from."""
    names = {stage_base(df, s, args) for s in df.stages if contexts.replaced(s) is None}
    out = {n for n in names if n != "scratch" and df.find_stage(n) is None and contexts.context(n) is None}
    for stage in df.stages:
        for ins in stage.instructions:
            for ref in from_refs(ins):
                target = from_target(df, stage, ref, ins.line, args, contexts)
                if isinstance(target, str):
                    out.add(target)
    return out


def load_context(ctx: NamedContext) -> ContextInput:
    """A named context of a build: a directory is read (with its own .dockerignore) like the main context."""
    if ctx.kind != DIR_CONTEXT:
        return ContextInput(ctx.name, ctx.kind, ctx.source)
    tree = ContextTree.from_dir(ctx.source)
    load_ignore(tree, None, None)
    return ContextInput(ctx.name, ctx.kind, ctx.source, tree)


def context_inputs(build: BuildSpec, change: ChangeSpec) -> tuple[dict[str, ContextInput], dict[str, ContextInput]]:
    """The named contexts of the earlier and of the current build (`--old-build-context` replaces some)."""
    new = {c.name: load_context(c) for c in build.build_contexts}
    old = dict(new)
    for c in change.old_build_contexts:
        if c.name not in new:
            raise UsageError(f"--old-build-context {c.name}: no --build-context {c.name} for this build")
        old[c.name] = load_context(c)
    return old, new


def mark_changed(
    tree: ContextTree, contexts: dict[str, ContextInput], paths: tuple[str, ...], context: str
) -> tuple[ContextTree, dict[str, ContextInput]]:
    """The earlier main tree and named contexts when `paths` changed: a path marks the main context and every
    directory context that holds it (a path in none of them is refused)."""
    old_contexts = dict(contexts)
    in_main = []
    for raw in paths:
        path = raw if os.path.isabs(raw) else os.path.join(context, raw)
        held = _mark_context_changed(old_contexts, path)
        if inside(path, context) is not None or not held:
            in_main.append(raw)
    return (_mark_changed(tree, tuple(in_main), context) if in_main else tree), old_contexts


def _mark_context_changed(old: dict[str, ContextInput], path: str) -> bool:
    """`--changed PATH` in directory contexts: marked in each that holds it. Whether one did."""
    held = False
    for name, ctx in old.items():
        if ctx.tree is None:
            continue
        rel = inside(path, ctx.source)
        if rel is None:
            continue
        tree = _mark_changed(ctx.tree, (os.path.abspath(path),), ctx.source)
        old[name] = ContextInput(ctx.name, ctx.kind, ctx.source, tree)
        held = True
    return held


def _trees(ctx: str, req: ChangeSpec) -> tuple[ContextTree, ContextTree, str]:
    if req.against is not None and req.git is not None:
        raise UsageError("--against and --git are two ways to say the same thing: give one")
    if req.git is not None:
        gitsrc.repo_prefix(ctx)
        if ".." in req.git:
            first, second = req.git.split("..", 1)
            return gitsrc.tree_at(ctx, first), gitsrc.tree_at(ctx, second), f"git {first}..{second}"
        return gitsrc.tree_at(ctx, req.git), gitsrc.worktree(ctx), f"git {req.git} against the working tree"
    new = ContextTree.from_dir(ctx)
    if req.against is not None:
        return ContextTree.from_dir(req.against), new, f"against {req.against}"
    return new, new, ""


def change_builds(build: BuildSpec, req: ChangeSpec) -> tuple[BuildInput, BuildInput, str]:
    """The earlier and the current build of a change, and the change in words."""
    df_path = build.dockerfile_path
    rel = inside(df_path, build.context)
    old_tree, new_tree, change = _trees(build.context, req)
    disk_text = read_dockerfile(df_path) if req.git is None or ".." not in req.git or rel is None else ""
    new_text = _dockerfile_text(new_tree, rel, disk_text) if new_tree is not old_tree else disk_text
    old_contexts, new_contexts = context_inputs(build, req)
    if req.old_build_contexts:
        said = " ".join(c.spec for c in req.old_build_contexts)
        change = ", ".join(filter(None, [change, "named contexts at the last build: " + said]))
    if req.changed:
        base = new_tree if old_tree is new_tree else old_tree
        old_tree, old_contexts = mark_changed(base, old_contexts, req.changed, build.context)
        change = ", ".join(filter(None, [change, "changed: " + " ".join(req.changed)]))
    old_text = _dockerfile_text(old_tree, rel, new_text) if req.against or req.git else new_text
    for tree in (old_tree, new_tree):
        load_ignore(
            tree,
            rel,
            None if rel is not None else os.path.abspath(df_path),
            builder_model(build.builder).dockerfile_ignore,
        )
    new_df = load_dockerfile(new_text)
    try:
        old_df = load_dockerfile(old_text) if old_text != new_text else new_df
    except LayerscopeError as err:
        raise type(err)(f"the earlier Dockerfile: {err}") from None
    if req.edited:
        old_df = edits.edit_lines(old_df, req.edited)
        change = ", ".join(filter(None, [change, "edited: " + " ".join(f"line {n}" for n in sorted(req.edited))]))
    old_args = dict(build.build_args)
    for key, value in req.old_build_args.items():
        if value is None:
            old_args.pop(key, None)
        else:
            old_args[key] = value
    if req.old_build_args:
        change = ", ".join(filter(None, [change, "build args: " + " ".join(sorted(req.old_build_args))]))
    generation: dict[str, str] = {}
    if req.base_changed:
        names = Names(tuple(new_contexts))
        images = _base_images(old_df, old_args, names) | _base_images(new_df, build.build_args, names)
        image_contexts = [n for n, c in new_contexts.items() if c.tree is None]
        for given in req.base_changed:
            hits = [i for i in images if given == "*" or _matches_image(given, i)]
            hits += ["context:" + n for n in image_contexts if given in ("*", n)]
            if not hits and given in new_contexts:
                raise UsageError(f"--base-changed {given}: a directory context: say which of its files changed"
                                 f" with --changed PATH, or give --old-build-context {given}=DIR")  # fmt: skip
            if not hits:
                raise UsageError(
                    f"--base-changed {given}: no step of the Dockerfile reads that image (FROM, COPY --from,"
                    " RUN --mount from=), and no --build-context of that name is an image"
                )
            generation.update(dict.fromkeys(hits, "previous"))
        republished = sorted(g.removeprefix("context:") for g in generation)
        change = ", ".join(filter(None, [change, "base image: " + " ".join(republished)]))
    if not change:
        raise UsageError(
            "nothing changed: give --against, --git, --changed, --old-build-arg, --old-build-context or --base-changed"
        )
    store, reproducible = image_store(build.builder, build.image_store) or "containerd", frozenset(build.reproducible)
    old_target = build.target if req.old_target is None else req.old_target
    old = BuildInput(old_df, old_tree, old_args, old_target, base_generation=generation, image_store=store,
                     reproducible=reproducible, contexts=old_contexts)  # fmt: skip
    new = BuildInput(new_df, new_tree, dict(build.build_args), build.target, image_store=store,
                     reproducible=reproducible, contexts=new_contexts)  # fmt: skip
    return old, new, change


def context_notes(df: Dockerfile, build_args: dict[str, str], names: Names) -> list[str]:
    """Names the builders would pull as images although they read like named contexts (no --build-context)."""
    found = bare_names(df, build_args, names)
    if not found:
        return []
    said = ", ".join(f"--from={name} (line {line})" for line, name in found)
    verb = "names" if len(found) == 1 else "name"
    return [
        f"{said} {verb} no stage and no --build-context: taken as images, as the builders do; if the build passes"
        " them as --build-context NAME=..., give them here too"
    ]


def change_notes(build: BuildSpec, change: ChangeSpec) -> tuple[str, ...]:
    notes = []
    if change.git is not None:
        notes.append(".git itself is not compared (it changes with every commit; ignore it in .dockerignore)")
        notes.extend(git_context_notes(build))
    if change.changed:
        notes.append("--changed: the listed paths are taken to differ; their earlier content is unknown")
    if change.edited:
        notes.append("edited lines: each instruction is taken to differ; its earlier text is unknown")
    return tuple(notes)


def git_context_notes(build: BuildSpec) -> tuple[str, ...]:
    """A build read from git at several revisions: its named directory contexts are not."""
    if any(not c.image_like for c in build.build_contexts):
        return ("named directory contexts are read from disk, the same for every build compared (git gives"
                " only the main context at each revision)",)  # fmt: skip
    return ()
