"""Statuses and reasons: compare a build's planned steps with the records a builder's cache holds."""

from __future__ import annotations

from layerscope.buildcache.builders.plan import (
    BASE,
    BUILD_ARG,
    EARLIER,
    FILE_CONTENTS,
    INSTRUCTION,
    SESSION,
    Component,
    PlannedStep,
    Records,
)
from layerscope.buildcache.results import DEPENDS, HIT, MISS, Cause, StepResult
from layerscope.buildfile.context import changed_names

LINK_NOTE = "copy reused (same layer); only the merge onto the changed earlier steps re-runs"
SESSION_NOTE = "a directory context is keyed by the build session in BuildKit: what builds on it runs on every build"


def _component_reason(new: Component, old: Component | None) -> tuple[Cause, str]:
    kind = new.cause_kind
    if kind == FILE_CONTENTS:
        if new.selection is not None and new.selection.missing:
            missing = ", ".join(new.selection.missing)
            return Cause(
                FILE_CONTENTS, new.selection.missing[0]
            ), f"source {missing} not found in the context: the build fails"
        names = changed_names(old.selection, new.selection) if old and old.selection and new.selection else []
        if not names:
            return Cause(FILE_CONTENTS, "."), "the selected files changed"
        more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
        return Cause(FILE_CONTENTS, names[0]), f"{names[0]} changed{more}"
    if kind == BUILD_ARG:
        before = repr(old.value) if old is not None else "unset"
        return Cause(BUILD_ARG, new.cause_name), f"build arg {new.cause_name} changed ({before} -> {new.value!r})"
    if kind == EARLIER:
        return Cause(EARLIER, new.cause_name), f"the copied output changed: {new.cause_name} re-ran"
    if kind == BASE:
        return Cause(BASE, new.cause_name), f"base image {new.cause_name} changed"
    return Cause(INSTRUCTION, new.cause_name), f"{new.cause_name} changed"


def _removed_reason(old: Component) -> tuple[Cause, str]:
    if old.cause_kind == BUILD_ARG:
        return Cause(BUILD_ARG, old.cause_name), f"build arg {old.cause_name} is no longer set"
    return Cause(INSTRUCTION, old.cause_name), f"{old.cause_name} changed"


def _candidate(step: PlannedStep, records: Records) -> PlannedStep | None:
    olds = records.by_parents.get(step.parents, [])
    same_slot = [o for o in olds if o.slot == step.slot]
    same_kind = [o for o in olds if o.instruction == step.instruction]
    if same_slot:
        return same_slot[0]
    return same_kind[0] if same_kind else None


class Explainer:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.owner: dict[str, PlannedStep] = {}
        self.causes: dict[int, Cause] = {}  # by id() of the owning step
        self.last_depends: dict[str, int] = {}  # stage -> line of its latest `depends` step

    def why(self, step: PlannedStep) -> tuple[Cause, str]:
        if step.forced_miss is not None:
            c = step.forced_miss
            if c.name == SESSION:
                return Cause(c.cause_kind, c.cause_name), f"{SESSION_NOTE}: {c.cause_name} is loaded again"
            return Cause(c.cause_kind, c.cause_name), f"no lookup: {c.cause_name} executed in this build"
        for parent in step.parents:
            if self.records.has(parent):
                continue
            owner = self.owner.get(parent)
            if owner is None:
                break
            if owner.forced_miss is not None and owner.forced_miss.name == SESSION:
                c = owner.forced_miss
                return Cause(c.cause_kind, c.cause_name), f"built on {c.cause_name}: {SESSION_NOTE}"
            if owner.base_image is not None:
                return Cause(BASE, owner.base_image), f"base image {owner.base_image} changed"
            inherited = self.causes.get(id(owner))
            if inherited is not None and inherited.kind == BASE:
                return inherited, f"built on the changed base image {inherited.name}"
            if owner.hit and owner.produces == parent:
                return Cause(
                    EARLIER, f"line {owner.line}"
                ), f"builds on the re-stacked COPY --link at line {owner.line}"
            return Cause(
                EARLIER, f"line {owner.line}"
            ), f"earlier step at line {owner.line} ({owner.instruction}) missed"
        old = _candidate(step, self.records)
        if old is None:
            return Cause(INSTRUCTION, step.instruction), "new instruction at this point: no earlier build ran it here"
        old_by_name = {c.name: c for c in old.components}
        new_names = {c.name for c in step.components}
        for comp in step.components:
            prev = old_by_name.get(comp.name)
            if prev is None or prev.value != comp.value:
                return _component_reason(comp, prev)
        for comp in old.components:
            if comp.name not in new_names:
                return _removed_reason(comp)
        return Cause(INSTRUCTION, step.instruction), f"{step.instruction} (line {step.line}) changed"

    def result(self, step: PlannedStep) -> StepResult:
        if step.key is not None:
            self.owner[step.key] = step
        if step.optimistic_key is not None:
            self.owner.setdefault(step.optimistic_key, step)
        if step.produces is not None:
            self.owner[step.produces] = step
        if step.kind != "step":
            return StepResult(step.stage, step.line, step.instruction, step.text, step.kind, step.note, None)
        if step.hit:
            note = step.note
            if step.produces is not None and step.key is not None and not self.records.has(step.produces):
                note = LINK_NOTE
            elif step.instruction not in ("COPY", "ADD"):
                note = None
            return StepResult(step.stage, step.line, step.instruction, step.text, HIT, note, None)
        if step.depends:
            cause, reason = self.depends_on(step)
            self.last_depends[step.stage] = step.line
            self.causes[id(step)] = cause
            return StepResult(step.stage, step.line, step.instruction, step.text, DEPENDS, reason, cause)
        cause, reason = self.why(step)
        self.causes[id(step)] = cause
        return StepResult(step.stage, step.line, step.instruction, step.text, MISS, reason, cause)

    def depends_on(self, step: PlannedStep) -> tuple[Cause, str]:
        """The condition of a `depends` step, in words."""
        for c in step.components:
            if c.optimistic is not None and c.optimistic != c.value and c.name == "url":
                return Cause(INSTRUCTION, c.cause_name), (
                    "hits only if the URL (or git ref) gives the same bytes as at the last build (the builder "
                    "fetches it to compare); misses otherwise"
                )
            if c.optimistic is not None and c.optimistic != c.value:
                where = c.name.split(":", 1)[1] if ":" in c.name else c.name
                return Cause(EARLIER, c.cause_name), (
                    f"hits only if {c.cause_name} of stage {where} re-runs to the same bytes as in the last build "
                    "(the builder compares the files it reads from there); misses otherwise"
                )
        for parent in step.parents:
            owner = self.owner.get(parent)
            if owner is not None and owner.depends:
                return Cause(
                    EARLIER, f"line {owner.line}"
                ), f"hits only if line {owner.line} hits (an outcome known only once the build runs)"
        line = self.last_depends.get(step.stage)
        if line is not None:  # chained through a COPY --link merge onto that step
            return Cause(
                EARLIER, f"line {line}"
            ), f"hits only if line {line} hits (an outcome known only once the build runs)"
        return Cause(EARLIER, step.instruction), "depends on the bytes a step re-run in this build writes"


def explain(steps: list[PlannedStep], records: Records) -> list[StepResult]:
    ex = Explainer(records)
    return [ex.result(s) for s in steps]
