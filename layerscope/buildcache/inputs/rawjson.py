"""BuildKit `--progress=rawjson` logs: one SolveStatus per line; vertices repeat and the last update wins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from layerscope.errors import FormatError, quote

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


def _lines(text: str) -> Iterator[str]:
    """The log's lines one at a time: a list of them (splitlines) doubled a 512 MiB log's
    memory. Only "\\n" ends one: a JSON string may hold U+2028, which splitlines splits at."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop
        yield text[start:stop]
        start = stop + 1


def read_rawjson(text: str) -> list[Vertex]:
    merged: dict[str, dict[str, object]] = {}
    order: list[str] = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip().startswith("{"):
            continue  # buildx writes its own warnings to the same stream as plain text
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as err:
            raise FormatError(f"rawjson line {number}: not JSON ({err.msg})") from None
        except RecursionError:
            raise FormatError(f"rawjson line {number}: JSON nested too deeply") from None
        vertexes = doc.get("vertexes") or []
        if not isinstance(vertexes, list) or not all(isinstance(v, dict) for v in vertexes):
            raise FormatError(f"rawjson line {number}: vertexes is not a list of objects")
        for v in vertexes:
            d = str(v.get("digest"))
            if d not in merged:
                merged[d] = {}
                order.append(d)
            merged[d].update({k: val for k, val in v.items() if val is not None})
    out = []
    for d in order:
        v = merged[d]
        _check_vertex(d, v)
        group = v.get("progressGroup")
        out.append(
            Vertex(
                digest=d,
                name=str(v.get("name", "")),
                cached=bool(v.get("cached", False)),
                started=str(v["started"]) if "started" in v else None,
                completed=str(v["completed"]) if "completed" in v else None,
                inputs=tuple(str(i) for i in v.get("inputs") or []),  # type: ignore[attr-defined]
                error=str(v["error"]) if v.get("error") else None,
                progress_group=str(group.get("id")) if isinstance(group, dict) else None,
            )
        )
    return out


def _check_vertex(digest: str, v: dict[str, object]) -> None:
    """The fields a vertex is read by have their types, its times parse: a log is input."""
    if not isinstance(v.get("inputs") or [], list):
        raise FormatError(f"rawjson: vertex {quote(digest)} has inputs that are not a list")
    for key in ("started", "completed"):
        value = v.get(key)
        if value is None:
            continue
        try:
            parse_time(str(value))
        except ValueError:
            raise FormatError(f"rawjson: vertex {quote(digest)}: {key} is not a time: {quote(value)}") from None
