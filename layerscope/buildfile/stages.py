"""Build stages of a Dockerfile: names and indexes, global ARGs, FROM bases, --target, stage dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from layerscope.buildfile.expand import ExpansionBudget, expand
from layerscope.buildfile.instructions import Instruction, ParsedFile, parse_dockerfile
from layerscope.errors import FormatError, UsageError

# Args BuildKit defines globally for every build (values for a linux/amd64 build on a linux/amd64 host).
PLATFORM_ARGS = {
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDARCH": "amd64",
    "BUILDVARIANT": "",
}


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    name: str | None  # lower-cased, as BuildKit compares stage names
    base: str  # the FROM image as written (may hold $ARGs)
    from_ins: Instruction
    instructions: tuple[Instruction, ...]  # after FROM

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"stage-{self.index}"


@dataclass(frozen=True, slots=True)
class Dockerfile:
    text: str
    parsed: ParsedFile
    global_args: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    # What its variable expansions may still produce, over every simulation of it.
    budget: ExpansionBudget = field(default_factory=ExpansionBudget, compare=False, repr=False)
    # Stage index by name: a lookup per stage reference (thousands of stages took minutes scanning).
    by_name: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        names: dict[str, int] = {}
        for stage in self.stages:
            if stage.name is not None:
                names.setdefault(stage.name, stage.index)
        object.__setattr__(self, "by_name", names)

    @property
    def escape(self) -> str:
        return self.parsed.escape

    def find_stage(self, ref: str, before: int | None = None) -> Stage | None:
        """A stage by name or index; with `before`, only stages defined earlier count (as in BuildKit)."""
        limit = len(self.stages) if before is None else before
        index = self.by_name.get(ref.lower())
        if index is not None and index < limit:
            return self.stages[index]
        if ref.isdigit() and int(ref) < limit:
            return self.stages[int(ref)]
        return None

    def target_stage(self, target: str | None) -> Stage:
        if target is None:
            return self.stages[-1]
        stage = self.find_stage(target)
        if stage is None:
            names = ", ".join(s.label for s in self.stages)
            raise UsageError(f"unknown target stage {target!r} (stages: {names})")
        return stage


def global_arg_values(df: Dockerfile, build_args: Mapping[str, str]) -> dict[str, str]:
    """Values of the ARGs declared before the first FROM (defaults, overridden by --build-arg)."""
    values: dict[str, str] = dict(PLATFORM_ARGS)
    for ins in df.global_args:
        for name, default in arg_declarations(ins, values, df.escape, df.budget):
            if name in build_args:
                values[name] = build_args[name]
            elif default is not None:
                values[name] = default
    return values


def arg_declarations(
    ins: Instruction, env: Mapping[str, str], escape: str, budget: ExpansionBudget | None = None
) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in ins.args:
        name, eq, default = item.partition("=")
        out.append((name, expand(default, env, escape, budget) if eq else None))
    return out


def stage_base(df: Dockerfile, stage: Stage, build_args: Mapping[str, str]) -> str:
    """The FROM image after global ARG expansion."""
    return expand(stage.base, global_arg_values(df, build_args), df.escape, df.budget)


def is_image_ref(value: str) -> bool:
    """Whether a --from value that names no stage reads as an image reference rather than a typo."""
    return any(c in value for c in "/:@.")


def familiar_name(name: str) -> str:
    """A name as BuildKit looks named contexts up (`reference.FamiliarString`, `:latest` dropped), so that
    `docker.io/library/alpine:latest`, `library/alpine` and `alpine` are one name."""
    first, slash, rest = name.partition("/")
    if slash and (first in ("docker.io", "index.docker.io")):
        name = rest
    elif slash and ("." in first or ":" in first or first == "localhost"):
        return name.removesuffix(":latest")  # another registry: kept whole
    if name.startswith("library/") and "/" not in name[len("library/") :]:
        name = name[len("library/") :]
    return name.removesuffix(":latest")


@dataclass(frozen=True, slots=True)
class NamedRef:
    """A FROM or --from name that resolves to a named build context (`--build-context NAME=...`)."""

    name: str  # the context's name as given


@dataclass(frozen=True, slots=True)
class Names:
    """How a builder resolves FROM, COPY --from and RUN --mount from= names, given the named build contexts.

    BuildKit: a stage named like a context is replaced by it (none of its instructions run); otherwise an earlier
    stage wins over a context of the same name, and names are compared as image references (`alpine` is
    `docker.io/library/alpine:latest`). buildah (`context_first`): a context wins over a stage of the same name,
    names compared as written.
    """

    contexts: tuple[str, ...] = ()  # the names given
    context_first: bool = False

    def context(self, name: str) -> str | None:
        """The context a name refers to, if any."""
        if name.lower() in ("scratch", "context"):  # reserved: never a named context in BuildKit
            return None
        if self.context_first:
            return name if name in self.contexts else None
        key = familiar_name(name)
        return next((c for c in self.contexts if familiar_name(c) == key), None)

    def replaced(self, stage: Stage) -> str | None:
        """BuildKit: the context that replaces this whole stage (its name is a context's)."""
        if self.context_first or stage.name is None:
            return None
        return self.context(stage.name)


NO_CONTEXTS = Names()


def resolve_name(df: Dockerfile, stage: Stage, resolved: str, names: Names) -> Stage | NamedRef | None:
    """An already expanded FROM/--from name: an earlier stage (or the context replacing it), or a context."""
    if names.context_first and names.context(resolved) is not None:
        return NamedRef(names.context(resolved) or resolved)
    found = df.find_stage(resolved, before=stage.index)
    if found is not None:
        replacing = names.replaced(found)
        return NamedRef(replacing) if replacing is not None else found
    context = names.context(resolved)
    return NamedRef(context) if context is not None else None


def stage_parent(
    df: Dockerfile, stage: Stage, build_args: Mapping[str, str], names: Names = NO_CONTEXTS
) -> Stage | NamedRef | None:
    """What a stage is built FROM when it is not an image: an earlier stage or a named context."""
    return resolve_name(df, stage, stage_base(df, stage, build_args), names)


def from_target(
    df: Dockerfile, stage: Stage, value: str, line: int, build_args: Mapping[str, str], names: Names = NO_CONTEXTS
) -> Stage | NamedRef | str:
    """What COPY --from / RUN --mount from= names: an earlier stage, a named build context, or an image."""
    resolved = expand(value, global_arg_values(df, build_args), df.escape, df.budget)
    found = resolve_name(df, stage, resolved, names)
    if found is not None:
        return found
    if resolved.isdigit():
        raise FormatError(f"Dockerfile line {line}: --from={value}: no earlier stage number {resolved}")
    return resolved  # an image, as the builders take any other name (`wheels` is docker.io/library/wheels)


def bare_names(df: Dockerfile, build_args: Mapping[str, str], names: Names = NO_CONTEXTS) -> list[tuple[int, str]]:
    """(line, name) of every --from / from= name that is no stage, no named context and reads like no image
    reference: the builders pull it as an image (`wheels` is docker.io/library/wheels), most likely a named
    context the build passes that was not given here."""
    out: list[tuple[int, str]] = []
    for stage in df.stages:
        for ins in stage.instructions:
            for ref in from_refs(ins):
                resolved = expand(ref, global_arg_values(df, build_args), df.escape, df.budget)
                unknown = resolve_name(df, stage, resolved, names) is None and not is_image_ref(resolved)
                if unknown and not resolved.isdigit() and (ins.line, resolved) not in out:
                    out.append((ins.line, resolved))
    return out


def mount_from(ins: Instruction) -> list[str]:
    out = []
    for spec in ins.flag_values("mount"):
        for part in spec.split(","):
            key, _, value = part.partition("=")
            if key.strip() == "from" and value:
                out.append(value)
    return out


def from_refs(ins: Instruction) -> list[str]:
    """What an instruction takes files from: RUN --mount from= values, COPY/ADD --from."""
    refs = mount_from(ins) if ins.keyword == "RUN" else []
    if ins.keyword in ("COPY", "ADD") and ins.flag("from"):
        refs.append(ins.flag("from") or "")
    return refs


def stage_dependencies(
    df: Dockerfile, stage: Stage, build_args: Mapping[str, str], names: Names = NO_CONTEXTS
) -> list[Stage]:
    """Stages this stage needs: its FROM parent, COPY --from, RUN --mount from=, ONBUILD triggers of the parent.
    A stage a named context replaces needs nothing."""
    if names.replaced(stage) is not None:
        return []
    deps: list[Stage] = []
    parent = stage_parent(df, stage, build_args, names)
    if isinstance(parent, Stage):
        deps.append(parent)
    elif isinstance(parent, NamedRef):  # FROM a stage the context replaces: that stage, built as the context
        found = df.find_stage(stage_base(df, stage, build_args), before=stage.index)
        if found is not None and names.replaced(found) == parent.name:
            deps.append(found)
    instructions = list(stage.instructions)
    if isinstance(parent, Stage):
        instructions += [i.trigger for i in parent.instructions if i.keyword == "ONBUILD" and i.trigger is not None]
    for ins in instructions:
        for ref in from_refs(ins):
            target = from_target(df, stage, ref, ins.line, build_args, names)
            if isinstance(target, Stage):
                deps.append(target)
            elif isinstance(target, NamedRef):  # a stage the context replaces is still "built": as the context
                replaced = next((s for s in df.stages[: stage.index] if names.replaced(s) == target.name), None)
                if replaced is not None:
                    deps.append(replaced)
    return deps


def reachable_stages(
    df: Dockerfile, target: Stage, build_args: Mapping[str, str], names: Names = NO_CONTEXTS
) -> set[int]:
    """Indexes of the stages BuildKit (and buildah) build for `target`."""
    seen: set[int] = set()
    todo = [target]
    while todo:
        stage = todo.pop()
        if stage.index in seen:
            continue
        seen.add(stage.index)
        todo.extend(stage_dependencies(df, stage, build_args, names))
    return seen


def load_dockerfile(text: str) -> Dockerfile:
    parsed = parse_dockerfile(text)
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: tuple[Instruction, list[Instruction]] | None = None
    named: set[str] = set()

    def close() -> None:
        if current is None:
            return
        from_ins, body = current
        args = [a for a in from_ins.args if a]
        name = None
        if len(args) == 3 and args[1].lower() == "as":
            name = args[2].lower()
        elif len(args) != 1:
            raise FormatError(f"Dockerfile line {from_ins.line}: FROM requires either one or three arguments")
        if name is not None and name in named:
            raise FormatError(f"Dockerfile line {from_ins.line}: duplicate stage name {name!r}")
        if name is not None:
            named.add(name)
        stages.append(Stage(len(stages), name, args[0], from_ins, tuple(body)))

    for ins in parsed.instructions:
        if ins.keyword == "FROM":
            close()
            current = (ins, [])
        elif current is None:
            global_args.append(ins)
        else:
            current[1].append(ins)
    close()
    return Dockerfile(text=text, parsed=parsed, global_args=tuple(global_args), stages=tuple(stages))
