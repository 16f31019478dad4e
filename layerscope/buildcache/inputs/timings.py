"""Real step durations from a BuildKit `--progress=rawjson` log, placed on the Dockerfile's steps.

BuildKit names a step's vertex `[stage i/n] INSTRUCTION`, numbering per stage the image FROM, the parent's
ONBUILD triggers, and every RUN, COPY, ADD and WORKDIR (`prefixCommand`); internal vertices
(`[internal] load ...`, `exporting to image`) belong to no step. On the containerd store a `COPY --link`
shows as two vertices with the same number, the copy and its `LINK` merge: both are the step's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from layerscope.buildcache.inputs.rawjson import STEP_NAME, Vertex, load_rawjson
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile, Stage, stage_base

VERTEX_KINDS = ("RUN", "COPY", "ADD", "WORKDIR")


@dataclass(frozen=True, slots=True)
class VertexStep:
    stage: str
    line: int
    keyword: str
    cached: bool  # the copy half for a COPY --link
    seconds: float | None  # completed - started, the merge half of a COPY --link included


def vertex_instructions(df: Dockerfile, stage: Stage, args: dict[str, str]) -> list[Instruction]:
    """The instructions of a stage in BuildKit's `[stage i/n]` numbering."""
    out = []
    parent = df.find_stage(stage_base(df, stage, args), before=stage.index)
    if parent is None and stage_base(df, stage, args) != "scratch":
        out.append(stage.from_ins)
    if parent is not None:
        out += [i.trigger for i in parent.instructions if i.keyword == "ONBUILD" and i.trigger is not None]
    return out + [i for i in stage.instructions if i.keyword in VERTEX_KINDS]


def _norm(text: str) -> str:
    return " ".join(text.split()).upper()


def _stage(df: Dockerfile, label: str | None, target: Stage) -> Stage | None:
    if label is None:
        return target
    return next((s for s in df.stages if s.label == label.lower()), None)


def place_vertices(
    df: Dockerfile, vertices: list[tuple[str, bool, float | None]], args: dict[str, str], target: str | None
) -> tuple[list[VertexStep], list[str]]:
    """(name, cached, seconds) of each vertex -> the steps they ran, and why some could not be placed.

    A log from another version of the Dockerfile still places steps whose text is unchanged.
    """
    tstage = df.target_stage(target)
    placed: dict[tuple[str, int], VertexStep] = {}
    problems: list[str] = []
    for name, cached, seconds in vertices:
        m = STEP_NAME.match(name)
        if m is None:
            continue  # internal vertices
        stage = _stage(df, m.group("stage"), tstage)
        if stage is None:
            problems.append(f"{name!r}: no stage {m.group('stage')!r} in the Dockerfile")
            continue
        text, merge = m.group("text"), m.group("text").startswith("LINK ")
        text = text.removeprefix("LINK ").removeprefix("ONBUILD ")
        instructions = vertex_instructions(df, stage, args)
        i, n = int(m.group("i")), int(m.group("n"))
        ins: Instruction | None = None
        # `WORKDIR /` counts in n but makes no vertex, so it takes no number i (observed on 28.5)
        numbered = [x for x in instructions if not (x.keyword == "WORKDIR" and x.args[:1] == ("/",))]
        if len(instructions) == n and i <= len(numbered) and text.split(" ", 1)[0].upper() == numbered[i - 1].keyword:
            ins = numbered[i - 1]  # by position: the text has its variables expanded
        else:
            ins = next((x for x in instructions if _norm(x.original) == _norm(text)), None)
            if ins is None:
                problems.append(f"{name!r}: BuildKit counts {n} steps in stage {stage.label}, we count "
                                f"{len(instructions)}, and no instruction has that text")  # fmt: skip
                continue
        key = (stage.label, ins.line)
        old = placed.get(key)
        if old is not None:  # the other half of a COPY --link
            total = None if old.seconds is None and seconds is None else (old.seconds or 0) + (seconds or 0)
            placed[key] = VertexStep(stage.label, ins.line, ins.keyword, old.cached if merge else cached, total)
        else:
            placed[key] = VertexStep(stage.label, ins.line, ins.keyword, cached, seconds)
    return list(placed.values()), problems


def load_timings(path: str | None) -> tuple[Vertex, ...] | None:
    """The vertices of the `--timings` log, read once per request (line by line: the log's size is no limit)."""
    return None if path is None else load_rawjson(path, "--timings")


def rawjson_steps(
    vertices: Sequence[Vertex], df: Dockerfile, args: dict[str, str], target: str | None
) -> tuple[list[VertexStep], list[str]]:
    return place_vertices(df, [(v.name, v.cached, v.seconds) for v in vertices], args, target)


def rawjson_seconds(
    vertices: Sequence[Vertex], df: Dockerfile, args: dict[str, str], target: str | None
) -> tuple[dict[tuple[str, int], float], list[str]]:
    """Durations of the steps the logged build executed. A cached vertex took no time there: it gives none."""
    steps, problems = rawjson_steps(vertices, df, args, target)
    return {(s.stage, s.line): s.seconds for s in steps if not s.cached and s.seconds is not None}, problems
