"""Dockerfile parsing with BuildKit's parser: directives, flags, heredocs, stages, and the errors users see."""

from __future__ import annotations

import pytest

from layerscope.buildfile.directives import read_directives
from layerscope.buildfile.expand import expand
from layerscope.buildfile.instructions import parse_dockerfile
from layerscope.buildfile.stages import load_dockerfile, reachable_stages, stage_base
from layerscope.errors import FormatError, UsageError

DOCKERFILE = """\
# syntax=docker/dockerfile:1
# escape=`
ARG BASE=sample/busybox:base
FROM $BASE AS build
RUN --mount=type=cache,target=/root/.cache echo a && `
    echo b
COPY --chmod=755 --exclude=*.md src/ /src/
RUN <<EOF
echo hi
EOF
onbuild copy --from=build /x /y
FROM build AS test
RUN echo test
FROM sample/busybox:base
COPY --from=build /src /src
"""


def test_directives_and_instructions() -> None:
    parsed = parse_dockerfile(DOCKERFILE)
    assert parsed.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    kinds = [i.keyword for i in parsed.instructions]
    assert kinds == ["ARG", "FROM", "RUN", "COPY", "RUN", "ONBUILD", "FROM", "RUN", "FROM", "COPY"]
    run = parsed.instructions[2]
    assert run.flag("mount") == "type=cache,target=/root/.cache"
    assert run.args == ("echo a &&     echo b",)  # continuation whitespace kept, as BuildKit keys it
    assert (run.line, run.end_line) == (5, 6)
    copy = parsed.instructions[3]
    assert copy.flag("chmod") == "755" and copy.flag_values("exclude") == ["*.md"]
    heredoc = parsed.instructions[4]
    assert heredoc.heredocs[0].content == "echo hi\n"
    onbuild = parsed.instructions[5]
    assert onbuild.trigger is not None and onbuild.trigger.flag("from") == "build"  # flags of the trigger kept


def test_directives_stop_at_the_first_other_line() -> None:
    assert read_directives("# comment\n# syntax=x\nFROM a\n") == {}
    with pytest.raises(FormatError, match="only one escape"):
        read_directives("# escape=`\n# escape=\\\nFROM a\n")


def test_stages_by_name_and_index_and_global_args() -> None:
    df = load_dockerfile(DOCKERFILE)
    assert [s.label for s in df.stages] == ["build", "test", "stage-2"]
    assert df.find_stage("BUILD") is df.stages[0] and df.find_stage("1") is df.stages[1]
    assert stage_base(df, df.stages[0], {}) == "sample/busybox:base"
    assert stage_base(df, df.stages[0], {"BASE": "other:1"}) == "other:1"
    assert reachable_stages(df, df.stages[2], {}) == {0, 2}
    assert reachable_stages(df, df.stages[1], {}) == {0, 1}
    with pytest.raises(UsageError, match="unknown target stage 'nope'"):
        df.target_stage("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM a\nRUN <<EOF\nx\n", "line 2: unterminated heredoc"),
        ("FROM a\nFROBNICATE x\n", "line 2: unknown instruction: FROBNICATE"),
        ("FROM a\nCOPY --bogus=1 a b\n", "line 2: unknown flag: --bogus"),
        ("FROM a\nCOPY a\n", "line 2: COPY requires at least 2 arguments"),
        ("RUN x\n", "line 1: RUN before the first FROM"),
        ("FROM a AS x\nFROM b AS x\n", "line 2: duplicate stage name"),
        ("", "empty"),
    ],
)
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        load_dockerfile(text)


def test_expand_like_buildkit() -> None:
    env = {"A": "1", "E": ""}
    assert expand("$A-${A}-'$A'-\"$A\"", env) == "1-1-$A-1"
    assert expand("${E:-d} ${E-d} ${Z:+x}${A:+y}", env) == "d  y"
