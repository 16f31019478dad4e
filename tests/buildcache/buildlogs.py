"""Which Dockerfile steps a real build took from its cache, read from the builder's own output.

BuildKit (rawjson or plain progress) names vertices `[stage i/n] INSTRUCTION`, counting per stage the
image FROM, ONBUILD triggers, RUN, COPY, ADD and WORKDIR; the classic builder prints `Step k/N` and
` ---> Using cache`; buildah prints `[s/S] STEP k/N:` and `--> Using cache`.
"""

from __future__ import annotations

import re

from layerscope.buildcache.inputs.rawjson import read_rawjson
from layerscope.buildcache.inputs.timings import place_vertices, rawjson_steps
from layerscope.buildfile.stages import Dockerfile, load_dockerfile


class LogMismatch(AssertionError):
    pass


def _buildkit(
    df: Dockerfile, vertices: list[tuple[str, bool]], args: dict[str, str], target: str | None
) -> dict[int, str]:
    steps, problems = place_vertices(df, [(name, cached, None) for name, cached in vertices], args, target)
    if problems:
        raise LogMismatch("; ".join(problems))
    # an image source is resolved on every build and reports `cached` only when something had to load it:
    # its flag says nothing about the cache (the steps built on it do)
    return {s.line: "hit" if s.cached else "miss" for s in steps if s.keyword != "FROM"}


def from_rawjson(text: str, df: Dockerfile, args: dict[str, str], target: str | None) -> dict[int, str]:
    steps, problems = rawjson_steps(read_rawjson(text), df, args, target)
    if problems:
        raise LogMismatch("; ".join(problems))
    return {s.line: "hit" if s.cached else "miss" for s in steps if s.keyword != "FROM"}


def from_plain(text: str, df: Dockerfile, args: dict[str, str], target: str | None) -> dict[int, str]:
    names: dict[str, str] = {}
    cached: set[str] = set()
    for line in text.splitlines():
        m = re.match(r"^#(\d+) (\[.*)$", line)
        if m and m.group(1) not in names:
            names[m.group(1)] = m.group(2)
        m = re.match(r"^#(\d+) CACHED\s*$", line)
        if m:
            cached.add(m.group(1))
    return _buildkit(df, [(n, k in cached) for k, n in names.items()], args, target)


def _blocks(text: str, marker: re.Pattern[str]) -> list[tuple[re.Match[str], str]]:
    out: list[tuple[re.Match[str], str]] = []
    current: re.Match[str] | None = None
    body: list[str] = []
    for line in text.splitlines():
        m = marker.match(line)
        if m:
            if current is not None:
                out.append((current, "\n".join(body)))
            current, body = m, []
        else:
            body.append(line)
    if current is not None:
        out.append((current, "\n".join(body)))
    return out


def from_classic(text: str, df: Dockerfile, target: str | None) -> dict[int, str]:
    tstage = df.target_stage(target)
    # the classic builder counts the global ARGs as steps too
    order = [*df.global_args, *(ins for s in df.stages[: tstage.index + 1] for ins in (s.from_ins, *s.instructions))]
    out: dict[int, str] = {}
    for m, body in _blocks(text, re.compile(r"^Step (\d+)/(\d+) : (.*)$")):
        k, n = int(m.group(1)), int(m.group(2))
        if n != len(order):
            raise LogMismatch(f"classic builder counts {n} steps, we count {len(order)}")
        ins = order[k - 1]
        if ins.keyword != "FROM" and ins not in df.global_args:
            out[ins.line] = "hit" if "---> Using cache" in body else "miss"
    return out


def from_buildah(text: str, df: Dockerfile, target: str | None) -> dict[int, str]:
    tstage = df.target_stage(target)
    out: dict[int, str] = {}
    marker = re.compile(r"^(?:\[(\d+)/(\d+)\] )?STEP (\d+)/(\d+): (.*)$")
    for m, body in _blocks(text, marker):  # [s/S] numbers every stage of the file, built or not
        stage = df.stages[int(m.group(1)) - 1] if m.group(1) else tstage
        parent = df.find_stage(stage.base, before=stage.index)
        triggers = [i.trigger for i in parent.instructions if i.trigger is not None] if parent else []
        order = [stage.from_ins, *triggers, *stage.instructions]  # buildah counts ONBUILD triggers as steps
        if int(m.group(4)) not in (len(order), len(order) - len(triggers)):  # N grows once triggers are in
            raise LogMismatch(f"buildah counts {m.group(4)} steps in stage {stage.label}, we count {len(order)}")
        ins = order[int(m.group(3)) - 1]
        if ins is not None and ins.keyword != "FROM":
            out[ins.line] = "hit" if "--> Using cache" in body else "miss"
    return out


def read_verdicts(engine: str, log: str, dockerfile: str, args: dict[str, str], target: str | None) -> dict[int, str]:
    """Each step's verdict (line -> hit/miss) in the log of a build of `dockerfile` by one of the engines of
    tests/buildcache/engines.py (the one reading the real-build tests and the corpus recorder share)."""
    df = load_dockerfile(dockerfile)
    if engine.startswith("modern"):
        return from_rawjson(log, df, args, target)
    if engine == "docker20-buildkit":
        return from_plain(log, df, args, target)
    if engine == "docker20-classic":
        return from_classic(log, df, target)
    return from_buildah(log, df, target)
