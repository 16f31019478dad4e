"""BuildKit `--progress=rawjson` logs: one SolveStatus per line; vertices repeat and the last update wins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from layerscope.errors import FormatError, quote
from layerscope.readfile import read_lines

# Step numbers of at most 9 digits: int() of thousands of them fails (and no build has more steps).
STEP_NAME = re.compile(r"^\[(?:(?P<stage>[^\]\s]+) )?(?P<i>\d{1,9})/(?P<n>\d{1,9})\] (?P<text>.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Vertex:
    digest: str
    name: str
    cached: bool
    started: str | None
    completed: str | None
    inputs: tuple[str, ...]
    error: str | None
    progress_group: str | None

    @property
    def seconds(self) -> float | None:
        if not self.started or not self.completed:
            return None
        return (parse_time(self.completed) - parse_time(self.started)).total_seconds()

    @property
    def step(self) -> tuple[str | None, int, int, str] | None:
        """(stage, index, count, text) for `[stage i/n] TEXT` vertices; None for internal ones."""
        m = STEP_NAME.match(self.name)
        if m is None:
            return None
        return m.group("stage"), int(m.group("i")), int(m.group("n")), m.group("text")

    @property
    def is_merge(self) -> bool:
        """The MergeOp half of a `COPY --link` on the containerd store."""
        step = self.step
        return step is not None and step[3].startswith("LINK ")


def parse_time(value: str) -> datetime:
    # RFC 3339 with nanoseconds: trim to microseconds for fromisoformat
    m = re.match(r"^(.*?\.\d{1,6})\d*(.*)$", value)
    text = (m.group(1) + m.group(2)) if m else value
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# One line is one SolveStatus. BuildKit cuts a status message once its logs pass 1 MiB
# (client/graph.go, SolveStatus.Marshal: ~1.4 MiB as base64 JSON) and a Dockerfile, whose
# instructions name the vertices, is at most 1 MiB here: a real line is a few MiB at most. The
# bound is also what parsing one line may cost: json.loads builds up to ~25 bytes for each byte
# of a line of tiny values (`[[],[],...]`), ~200 MiB for 8 MiB, freed before the next line.
LINE_LIMIT = 8 << 20
# The vertex table is all that is kept of a log (statuses, logs and warnings are dropped as each
# line is read): a real build has hundreds of vertices, a large bake a few thousand.
MAX_VERTICES = 100_000
# ... and the text it keeps (digests, names, times, inputs, errors), counted with a per-string
# overhead, so that 100,000 vertices of 8 MiB names are refused too.
TABLE_LIMIT = 64 << 20
_STRING_COST = 64  # bytes a str object costs besides its characters (CPython: 40 to 80)


def _lines(text: str) -> Iterator[str]:
    """The lines of a log held in memory (tests, a build's captured output): only "\\n" ends one,
    as in a file (`readfile.split_lines`): a JSON string may hold U+2028, which splitlines splits at."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop
        yield text[start:stop]
        start = stop + 1


def read_rawjson(text: str) -> tuple[Vertex, ...]:
    """The vertices of a log held in memory."""
    return parse_rawjson(_lines(text))


def load_rawjson(path: str, what: str = "--timings") -> tuple[Vertex, ...]:
    """The vertices of a log file, read line by line: memory is bounded by one line (LINE_LIMIT)
    and the vertex table (MAX_VERTICES, TABLE_LIMIT), whatever the file's size."""
    lines = read_lines(path, what, LINE_LIMIT)
    try:
        return parse_rawjson(lines)
    finally:
        lines.close()


class _NotTime(str):
    """A time field that was no string (BuildKit writes RFC 3339 text), kept as the error quotes it."""


def _time(value: object) -> str:
    return value if isinstance(value, str) else _NotTime(quote(value))


@dataclass(slots=True)
class _Merged:
    """A vertex as its updates so far leave it: only the fields a Vertex is read from."""

    name: str = ""
    cached: bool = False
    started: str | None = None
    completed: str | None = None
    inputs: tuple[str, ...] | None = ()  # None: the last update's inputs were not a list
    error: str | None = None
    group: str | None = None
    inputs_cost: int = 0  # what `inputs` costs, counted once as they are set

    def cost(self) -> int:
        """What the vertex holds: in constant time, as it is asked at every update (summing its
        inputs each time made a log of one many-input vertex updated again and again quadratic)."""
        texts = (self.name, self.started or "", self.completed or "", self.error or "", self.group or "")
        return sum(len(t) + _STRING_COST for t in texts) + self.inputs_cost

    def update(self, v: dict[str, object]) -> None:
        """The last update wins, field by field; a null field leaves the field as it was."""
        for key, value in v.items():
            if value is None:
                continue
            if key == "name":
                self.name = str(value)
            elif key == "cached":
                self.cached = bool(value)
            elif key == "started":
                self.started = _time(value)
            elif key == "completed":
                self.completed = _time(value)
            elif key == "inputs":
                self.inputs = tuple(str(i) for i in value) if isinstance(value, list) else () if not value else None
                self.inputs_cost = sum(len(i) + _STRING_COST for i in self.inputs or ())
            elif key == "error":
                self.error = str(value) if value else None
            elif key == "progressGroup":
                self.group = str(value.get("id")) if isinstance(value, dict) else None


def parse_rawjson(lines: Iterable[str]) -> tuple[Vertex, ...]:
    """The vertices of a log given line by line (without the "\\n"), in the order they first appear."""
    merged: dict[str, _Merged] = {}
    kept = 0  # what the table holds, as _Merged.cost counts it
    for number, line in enumerate(lines, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")  # a BOM (PowerShell's Out-File): the first line is still JSON
        if not line.strip().startswith("{"):
            continue  # buildx writes its own warnings to the same stream as plain text
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as err:
            raise FormatError(f"rawjson line {number}: not JSON ({err.msg})") from None
        except RecursionError:
            raise FormatError(f"rawjson line {number}: JSON nested too deeply") from None
        vertexes = doc.get("vertexes") or []
        del doc  # the line's statuses, logs and warnings go now
        if not isinstance(vertexes, list) or not all(isinstance(v, dict) for v in vertexes):
            raise FormatError(f"rawjson line {number}: vertexes is not a list of objects")
        for v in vertexes:
            d = str(v.get("digest"))
            m = merged.get(d)
            if m is None:
                if len(merged) == MAX_VERTICES:
                    raise FormatError(f"rawjson line {number}: more than {MAX_VERTICES} distinct vertices "
                                      f"(a build has a few thousand at most): not the log of one build")  # fmt: skip
                m = merged[d] = _Merged()
                kept += len(d) + _STRING_COST
            kept -= m.cost()
            m.update(v)
            kept += m.cost()
            if kept > TABLE_LIMIT:
                raise FormatError(f"rawjson line {number}: the log's vertices hold more than {TABLE_LIMIT >> 20} "
                                  "MiB of names, times, inputs and errors: not the log of one build")  # fmt: skip
    return tuple(_vertex(d, m) for d, m in merged.items())


def _vertex(digest: str, m: _Merged) -> Vertex:
    """The fields a vertex is read by have their types, its times parse: a log is input."""
    if m.inputs is None:
        raise FormatError(f"rawjson: vertex {quote(digest)} has inputs that are not a list")
    for key, value in (("started", m.started), ("completed", m.completed)):
        if value is None:
            continue
        shown: str | None = value if isinstance(value, _NotTime) else None
        if shown is None:
            try:
                parse_time(value)
                continue
            except ValueError:
                shown = quote(value)
        raise FormatError(f"rawjson: vertex {quote(digest)}: {key} is not a time: {shown}")
    return Vertex(digest, m.name, m.cached, m.started, m.completed, m.inputs, m.error, m.group)
