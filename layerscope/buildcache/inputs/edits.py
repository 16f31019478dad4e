"""`ChangeSpec.edited`: instructions whose text differs from the last build's.

The earlier Dockerfile is the current one with each listed instruction's arguments altered, so every builder
model keys it differently (its definition, an ENV or ARG value, a WORKDIR path) and explains the miss as the
instruction having changed. What the earlier text was is unknown, as the earlier content of `--changed` paths is.
"""

from __future__ import annotations

from dataclasses import replace

from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile
from layerscope.errors import UsageError

MARK = "earlier"


def _suffixed(word: str) -> str:
    """A path or word that differs, keeping a trailing "/" (a COPY destination stays a directory)."""
    if word.endswith("/") and len(word) > 1:
        return f"{word.rstrip('/')}-{MARK}/"
    return f"{word}-{MARK}"


def altered(ins: Instruction) -> Instruction:
    """The instruction as it might have read at the last build: same keyword and flags, other arguments."""
    args = list(ins.args)
    kw = ins.keyword
    if kw in ("ENV", "LABEL"):  # (name, value) pairs, flattened: every value differs
        args = [a if i % 2 == 0 else f"{a}-{MARK}" for i, a in enumerate(args)]
    elif kw == "ARG":  # NAME=default or NAME: the default differs
        args = [f"{a}-{MARK}" if "=" in a else f"{a}={MARK}" for a in args]
    elif not args:
        args = [MARK]
    elif ins.json or kw in ("COPY", "ADD", "WORKDIR", "USER"):
        args[-1] = _suffixed(args[-1])  # exec form: the last word; COPY/ADD: the destination
    else:
        args[-1] = f"{args[-1]} # {MARK}"  # shell form: the command differs
    trigger = altered(ins.trigger) if ins.trigger is not None else None
    return replace(ins, args=tuple(args), original=f"{ins.original} # {MARK}", trigger=trigger)


def edit_lines(df: Dockerfile, lines: tuple[int, ...]) -> Dockerfile:
    """`df` with the instructions that start at `lines` altered; a line where none starts is a usage error."""
    wanted = set(lines)
    found: set[int] = set()

    def edit(ins: Instruction) -> Instruction:
        if ins.line in wanted:
            found.add(ins.line)
            return altered(ins)
        return ins

    global_args = tuple(edit(i) for i in df.global_args)
    stages = []
    for stage in df.stages:
        if stage.from_ins.line in wanted:
            raise UsageError(
                f"edited line {stage.from_ins.line}: a FROM is a base image change (--base-changed), not an edit"
            )
        stages.append(replace(stage, instructions=tuple(edit(i) for i in stage.instructions)))
    missing = sorted(wanted - found)
    if missing:
        raise UsageError(f"edited line {missing[0]}: no instruction of the Dockerfile starts on that line")
    return replace(df, global_args=global_args, stages=tuple(stages))
