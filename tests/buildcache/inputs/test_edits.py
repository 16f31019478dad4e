"""`CacheRequest.edited`: an instruction edited since the last build gives the same statuses as comparing
against a context whose Dockerfile really had other text on that line (`--against`, which the scenario suite
confirms with real builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.errors import UsageError
from tests.buildcache.scenario import write_tree

DF = """\
ARG VERSION=1
FROM sample/busybox:base AS build
ENV MODE=fast
WORKDIR /src
COPY a.txt ./
RUN cat a.txt > out.txt
LABEL purpose=test

FROM sample/busybox:base
ARG VERSION
USER nobody
COPY --from=build /src/out.txt /out.txt
RUN ["cat", "/out.txt"]
CMD ["true"]
"""

# line -> the same line as it might have read at the last build
EDITS = {
    3: "ENV MODE=slow",
    4: "WORKDIR /source",
    5: "COPY a.txt ./b/",
    6: "RUN cat a.txt >> out.txt",
    7: "LABEL purpose=other",
    10: "ARG VERSION=2",
    11: "USER daemon",
    12: "COPY --from=build /src/out.txt /other.txt",
    13: 'RUN ["cat", "/etc/passwd"]',
    14: 'CMD ["false"]',
}


def statuses(sim) -> list[tuple[int, str]]:
    return [(s.line, s.status) for s in sim.steps]


@pytest.mark.parametrize("builder", ["buildkit", "classic", "buildah"])
@pytest.mark.parametrize("line", sorted(EDITS))
def test_an_edited_line_misses_like_a_real_edit(tmp_path: Path, builder: str, line: int) -> None:
    now, before = tmp_path / "now", tmp_path / "before"
    write_tree(now, {"a.txt": "a\n"}, DF)
    lines = DF.splitlines()
    lines[line - 1] = EDITS[line]
    write_tree(before, {"a.txt": "a\n"}, "\n".join(lines) + "\n")
    edited = simulate_cache(CacheRequest(context=str(now), builder=builder, edited=(line,)))
    real = simulate_cache(CacheRequest(context=str(now), builder=builder, against=str(before)))
    assert statuses(edited) == statuses(real)
    assert edited.change == f"edited: line {line}"
    first = next((s for s in edited.steps if s.status == "miss"), None)
    real_first = next((s for s in real.steps if s.status == "miss"), None)
    assert (first and (first.line, first.cause)) == (real_first and (real_first.line, real_first.cause))


def test_the_reason_names_the_edited_instruction(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "a\n"}, DF)
    sim = simulate_cache(CacheRequest(context=str(tmp_path), edited=(6,)))
    (first, *rest) = sim.missed
    assert (first.line, first.reason, first.cause.kind) == (6, "RUN (line 6) changed", "instruction")
    assert rest == []
    # the copied output depends on the bytes the re-run RUN writes, and the RUN after it on that copy
    assert [s.line for s in sim.steps if s.status == "depends"] == [12, 13]
    assert any("edited lines" in n for n in sim.notes)
    # BuildKit keys neither LABEL nor CMD: editing them rebuilds nothing
    assert simulate_cache(CacheRequest(context=str(tmp_path), edited=(7, 14))).missed == ()


def test_edited_lines_must_start_an_instruction(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "a\n"}, DF)
    with pytest.raises(UsageError, match="edited line 8: no instruction of the Dockerfile starts on that line"):
        simulate_cache(CacheRequest(context=str(tmp_path), edited=(8,)))
    with pytest.raises(UsageError, match="a FROM is a base image change"):
        simulate_cache(CacheRequest(context=str(tmp_path), edited=(2,)))
