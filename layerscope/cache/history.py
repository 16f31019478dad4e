"""An image's history joined to the Dockerfile steps that wrote it.

BuildKit writes `RUN /bin/sh -c make # buildkit`, `COPY a b # buildkit`, `ENV A=1` (comment
`buildkit.dockerfile.v0`); the classic builder and buildah write `/bin/sh -c #(nop) COPY file:... in /app `
for everything but RUN, and `/bin/sh -c make` (or `|1 V=2 /bin/sh -c make`) for RUN. The image's own
history entries come first; the target stage's chain (FROM <stage> parents included) ends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from layerscope.buildfile.instructions import KEYWORDS, Instruction
from layerscope.buildfile.stages import Dockerfile, Stage, stage_base
from layerscope.cache.rawjson import parse_time
from layerscope.model import HistoryEntry

BUILDKIT_COMMENT = "buildkit.dockerfile.v0"
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s+")
_ARGS_PREFIX = re.compile(r"^\|(\d+) ")


@dataclass(frozen=True, slots=True)
class HistoryStep:
    keyword: str  # upper-case instruction keyword; "" for entries no Dockerfile instruction wrote
    body: str  # what follows the keyword (RUN: the command with its shell)
    flavour: str  # "buildkit" | "nop" (classic, buildah) | ""


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One instruction of the target stage's chain, in build order."""

    stage: str
    line: int
    keyword: str
    instruction: Instruction


@dataclass(frozen=True, slots=True)
class Alignment:
    entries: dict[tuple[str, int], int]  # (stage, line) -> history index
    base_end: int  # history[:base_end] belongs to the base image
    root: tuple[str, int]  # the FROM of the chain's first stage: it brings the base image's layers
    text_matches: int  # RUN commands whose text agrees with the history


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


def align(history: tuple[HistoryEntry, ...], chain: list[ChainStep]) -> Alignment | None:
    """Match the chain to the end of the history by keyword, newest first; None when they disagree.

    An ONBUILD registration has no entry in BuildKit's history (it has one in classic's): it may be skipped.
    """
    parsed = [parse_created_by(h.created_by, h.comment) for h in history]
    steps = [c for c in chain if c.keyword != "FROM"]
    out: dict[tuple[str, int], int] = {}
    matches = 0
    i, j = len(parsed) - 1, len(steps) - 1
    while j >= 0:
        step = steps[j]
        if i >= 0 and parsed[i].keyword == step.keyword:
            out[(step.stage, step.line)] = i
            if step.keyword == "RUN" and run_text_agrees(parsed[i], step.instruction):
                matches += 1
            i, j = i - 1, j - 1
        elif step.keyword == "ONBUILD":
            j -= 1
        else:
            return None
    return Alignment(out, i + 1, (chain[0].stage, chain[0].line), matches)


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
