"""An image's history joined to the Dockerfile steps that wrote it: the one mechanism behind `cache --image`
(costs.py), `rebuild_cost` and explore's Cache view (imagemap.py), and the rebuild cost of a package (bump.py).

BuildKit writes `RUN /bin/sh -c make # buildkit`, `COPY a b # buildkit`, `ENV A=1` (comment
`buildkit.dockerfile.v0`); the classic builder and buildah write `/bin/sh -c #(nop) COPY file:... in /app `
for everything but RUN, and `/bin/sh -c make` (or `|1 V=2 /bin/sh -c make`) for RUN. The base image's
history entries come first; the target stage's chain (FROM <stage> parents included) ends it, every entry
without `empty_layer` owning the next layer (docs/cache-rules.md §7, §8). So the chain is matched with the history
from the end, by keyword.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layerscope.buildcache.inputs.rawjson import parse_time
from layerscope.buildfile.instructions import KEYWORDS, Instruction
from layerscope.buildfile.stages import Dockerfile, Stage, stage_base
from layerscope.model import HistoryEntry, Image

BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s+")
_ARGS_PREFIX = re.compile(r"^\|(\d+) ")
NO_ENTRY = frozenset({"ONBUILD"})  # BuildKit records no history entry for the registration (classic does)
Key = tuple[str, int]  # (stage label, line)


@dataclass(frozen=True, slots=True)
class HistoryStep:
    keyword: str  # upper-case instruction keyword; "" for entries no Dockerfile instruction wrote
    body: str  # what follows the keyword (RUN: the command with its shell)
    flavour: str  # "buildkit" | "nop" (classic, buildah) | ""

    @property
    def text(self) -> str:
        """The step as a Dockerfile line would read (RUN without its shell and build-arg prefix)."""
        if self.keyword == "RUN":
            return f"RUN {_command(self.body)}"
        return f"{self.keyword} {self.body}".strip()


class StepLike(Protocol):
    """A step listed by its text only: a simulation's step, or one explore's Cache view lists."""

    @property
    def stage(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def instruction(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One instruction of the target stage's chain, in build order."""

    stage: str
    line: int
    keyword: str
    instruction: Instruction | None = None  # None for a step known by its text only (its RUN text is not checked)


@dataclass(frozen=True, slots=True)
class Alignment:
    entries: dict[Key, int]  # (stage, line) -> history index
    base_end: int  # history[:base_end] belongs to the base image (complete alignments only)
    root: Key  # the FROM of the chain's first stage: it brings the base image's layers
    text_matches: int  # RUN commands whose text agrees with the history
    unmatched: tuple[ChainStep, ...] = field(default=())  # the steps above the entry that disagreed, in order

    @property
    def complete(self) -> bool:
        return not any(s.keyword not in NO_ENTRY for s in self.unmatched)


def parse_created_by(created_by: str | None, comment: str | None) -> HistoryStep:
    text = (created_by or "").strip()
    if not text:
        return HistoryStep("", "", "")
    if text.endswith("# buildkit") or comment == BUILDKIT_COMMENT:
        text = text.removesuffix("# buildkit").rstrip()
        word, _, rest = text.partition(" ")
        if word in KEYWORDS:
            return HistoryStep(word, rest, "buildkit")
        return HistoryStep("", text, "buildkit")
    nop = _NOP.match(text)
    if nop is not None:
        word, _, rest = text[nop.end() :].partition(" ")
        return HistoryStep(word.upper(), rest.strip(), "nop") if word.upper() in KEYWORDS else HistoryStep("", text, "")
    word, _, rest = text.partition(" ")
    if word in KEYWORDS:  # BuildKit's form without its comment (`WORKDIR /app`): no command is upper-case
        return HistoryStep(word, rest, "buildkit")
    return HistoryStep("RUN", text, "nop")  # the classic builder and buildah write a RUN as its command


def history_flavour(entries: tuple[HistoryEntry, ...]) -> str:
    flavours = {parse_created_by(h.created_by, h.comment).flavour for h in entries}
    return "buildkit" if "buildkit" in flavours else "nop" if "nop" in flavours else ""


def _command(body: str) -> str:
    """A RUN's command without the `|N K=V` build-arg prefix and the `/bin/sh -c` shell."""
    m = _ARGS_PREFIX.match(body)
    if m is not None:
        body = " ".join(body[m.end() :].split(" ")[int(m.group(1)) :])
    return " ".join(body.removeprefix("/bin/sh -c ").split())


def run_text_agrees(step: HistoryStep, ins: Instruction) -> bool | None:
    """Whether a RUN's history text is this instruction's command (None: cannot tell, e.g. a heredoc)."""
    if ins.heredocs:
        return None
    return _command(step.body).endswith(" ".join(" ".join(ins.args).split()))


def target_chain(df: Dockerfile, target: str | None, build_args: dict[str, str]) -> list[ChainStep]:
    """The instructions whose history entries end the target's image: parent stages first."""
    stages: list[Stage] = []
    stage: Stage | None = df.target_stage(target)
    while stage is not None:
        stages.insert(0, stage)
        stage = df.find_stage(stage_base(df, stage, build_args), before=stage.index)
    chain = [ChainStep(stages[0].label, stages[0].from_ins.line, "FROM", stages[0].from_ins)]
    for i, st in enumerate(stages):
        if i > 0:  # the parent's ONBUILD triggers run first in a child stage
            triggers = [t.trigger for t in stages[i - 1].instructions if t.trigger is not None]
            chain += [ChainStep(st.label, t.line, t.keyword, t) for t in triggers]
        chain += [ChainStep(st.label, ins.line, ins.keyword, ins) for ins in st.instructions]
    return chain


def _from_base(text: str) -> str:
    words = [w for w in text.split()[1:] if not w.startswith("--")]
    return words[0].lower() if words else ""


def final_stages(steps: Sequence[StepLike], target: str | None) -> tuple[str, ...]:
    """The target stage and the stages it is built FROM, base-most first (a stage's FROM names an earlier one)."""
    order: list[str] = []
    base: dict[str, str] = {}
    for s in steps:
        if s.stage not in order:
            order.append(s.stage)
        if s.instruction == "FROM" and s.stage not in base:
            base[s.stage] = _from_base(s.text)
    if not order:
        return ()
    chain = [target if target in order else order[-1]]
    while True:
        parent = base.get(chain[0], "")
        earlier = order[: order.index(chain[0])]
        found = parent if parent in earlier else None
        if parent.isdigit() and int(parent) < len(earlier):  # FROM 0: a stage by index
            found = earlier[int(parent)]
        if found is None or found in chain:
            return tuple(chain)
        chain.insert(0, found)


def listed_chain(steps: Sequence[StepLike], stages: tuple[str, ...]) -> list[ChainStep]:
    """The chain of listed steps (their own order): the first stage's FROM, then every non-FROM step."""
    first = next((s for s in steps if stages and s.stage == stages[0] and s.instruction == "FROM"), None)
    root = [ChainStep(first.stage, first.line, "FROM")] if first is not None else []
    return root + [ChainStep(s.stage, s.line, s.instruction) for s in steps
                   if s.stage in stages and s.instruction != "FROM"]  # fmt: skip


def align_chain_partial(history: tuple[HistoryEntry, ...], chain: list[ChainStep]) -> Alignment:
    """Match the chain to the end of the history by keyword, newest first, as far as they agree.

    An ONBUILD registration has no entry in BuildKit's history (it has one in classic's): it may be skipped. A
    LABEL entry after the last step is a builder's `--label` (classic records one): it is skipped.
    """
    parsed = [parse_created_by(h.created_by, h.comment) for h in history]
    steps = [c for c in chain if c.keyword != "FROM"]
    out: dict[Key, int] = {}
    matches = 0
    i, j = len(parsed) - 1, len(steps) - 1
    while j >= 0:
        step = steps[j]
        if i >= 0 and parsed[i].keyword == step.keyword:
            out[(step.stage, step.line)] = i
            if step.keyword == "RUN" and step.instruction is not None and run_text_agrees(parsed[i], step.instruction):
                matches += 1
            i, j = i - 1, j - 1
        elif step.keyword in NO_ENTRY:
            j -= 1
        elif i >= 0 and not out and parsed[i].keyword == "LABEL":
            i -= 1
        else:
            break
    root = (chain[0].stage, chain[0].line) if chain else ("", 0)
    return Alignment(out, i + 1, root, matches, tuple(steps[: j + 1]))


def align_chain(history: tuple[HistoryEntry, ...], chain: list[ChainStep]) -> Alignment | None:
    """The whole chain matched with the end of the history; None when they disagree."""
    al = align_chain_partial(history, chain)
    return al if al.complete else None


def step_layers(image: Image, al: Alignment, base: bool = True) -> dict[Key, tuple[int, ...]]:
    """Each matched step's layers (() for a config-only step); with `base`, the root FROM's: the base image's."""
    out: dict[Key, tuple[int, ...]] = {}
    for key, index in al.entries.items():
        li = image.history[index].layer_index
        out[key] = () if li is None else (li,)
    if base:
        out[al.root] = tuple(h.layer_index for h in image.history[: al.base_end] if h.layer_index is not None)
    return out


def layer_sizes(image: Image, layers: Sequence[int]) -> tuple[int | None, int | None]:
    """The layers' summed `size` and `compressed_size`; None where one of them is unknown."""
    by_index = {x.index: x for x in image.layers}
    sizes = [by_index[n].size if n in by_index else None for n in layers]
    stored = [by_index[n].compressed_size if n in by_index else None for n in layers]
    return (None if None in sizes else sum(s or 0 for s in sizes),
            None if None in stored else sum(s or 0 for s in stored))  # fmt: skip


def _time(value: str | None) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def history_seconds(history: tuple[HistoryEntry, ...], alignment: Alignment) -> dict[tuple[str, int], float]:
    """Per step, the time since the previous history entry of this build (a classic build commits each step
    when it finishes). An estimate: the first step has no earlier entry of the same build, and a step
    after one reused from the cache also counts the time between the two builds."""
    out: dict[tuple[str, int], float] = {}
    for key, index in alignment.entries.items():
        if index <= alignment.base_end:  # the previous entry is the base image's
            continue
        start, end = _time(history[index - 1].created), _time(history[index].created)
        if start is None or end is None or start.year < 1980:  # reproducible builds write fixed dates
            continue
        delta = (end - start).total_seconds()
        if delta >= 0:
            out[key] = delta
    return out
