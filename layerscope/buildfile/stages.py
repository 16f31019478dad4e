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

    @property
    def escape(self) -> str:
        return self.parsed.escape

    def find_stage(self, ref: str, before: int | None = None) -> Stage | None:
        """A stage by name or index; with `before`, only stages defined earlier count (as in BuildKit)."""
        limit = len(self.stages) if before is None else before
        for stage in self.stages[:limit]:
            if stage.name == ref.lower():
                return stage
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


def from_target(df: Dockerfile, stage: Stage, value: str, line: int, build_args: Mapping[str, str]) -> Stage | str:
    """What COPY --from / RUN --mount from= names: an earlier stage, or an image."""
    resolved = expand(value, global_arg_values(df, build_args), df.escape, df.budget)
    found = df.find_stage(resolved, before=stage.index)
    if found is not None:
        return found
    if resolved.isdigit() or not is_image_ref(resolved):
        raise FormatError(
            f"Dockerfile line {line}: --from={value}: no earlier stage named {resolved!r}"
            " (named build contexts, docker buildx build --build-context, are not modelled)"
        )
    return resolved


def mount_from(ins: Instruction) -> list[str]:
    out = []
    for spec in ins.flag_values("mount"):
        for part in spec.split(","):
            key, _, value = part.partition("=")
            if key.strip() == "from" and value:
                out.append(value)
    return out


def stage_dependencies(df: Dockerfile, stage: Stage, build_args: Mapping[str, str]) -> list[Stage]:
    """Stages this stage needs: its FROM parent, COPY --from, RUN --mount from=, ONBUILD triggers of the parent."""
    deps: list[Stage] = []
    parent = df.find_stage(stage_base(df, stage, build_args), before=stage.index)
    if parent is not None:
        deps.append(parent)
    instructions = list(stage.instructions)
    if parent is not None:
        instructions += [i.trigger for i in parent.instructions if i.keyword == "ONBUILD" and i.trigger is not None]
    for ins in instructions:
        refs = mount_from(ins) if ins.keyword == "RUN" else []
        if ins.keyword in ("COPY", "ADD") and ins.flag("from"):
            refs.append(ins.flag("from") or "")
        for ref in refs:
            target = from_target(df, stage, ref, ins.line, build_args)
            if isinstance(target, Stage):
                deps.append(target)
    return deps


def reachable_stages(df: Dockerfile, target: Stage, build_args: Mapping[str, str]) -> set[int]:
    """Indexes of the stages BuildKit (and buildah) build for `target`."""
    seen: set[int] = set()
    todo = [target]
    while todo:
        stage = todo.pop()
        if stage.index in seen:
            continue
        seen.add(stage.index)
        todo.extend(stage_dependencies(df, stage, build_args))
    return seen


def load_dockerfile(text: str) -> Dockerfile:
    parsed = parse_dockerfile(text)
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: tuple[Instruction, list[Instruction]] | None = None

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
        if name is not None and any(s.name == name for s in stages):
            raise FormatError(f"Dockerfile line {from_ins.line}: duplicate stage name {name!r}")
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
