"""Fuzzing the Dockerfile front end (directives, BuildKit's parser, instruction checks, stages,
variable expansion) through a whole cache simulation with each builder's rules, and the
`.dockerignore` reader and matcher: hostile text either simulates or raises a
LayerscopeError, never another exception and never a hang."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.buildfile.ignore import IgnoreMatcher, read_ignore_lines
from layerscope.errors import LayerscopeError
from tests.support.hostile import time_limit

SETTINGS = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WORDS = st.sampled_from(
    [
        "a.txt", "src/", ".", "/app", "$A", "${A}", "${A:-x}", "${B:+$A}", "${", "}", "'q'", '"d $A"', "\\", "`",
        "*", "src/*.py", "**", "[ab]", "[", "--from=build", "--from=0", "--from=$A", "--link", "--chown=1:1",
        "--mount=type=cache,target=/c", "--mount=type=bind,from=build,source=/x", "--bogus", "AS", "build",
        "A=1", "B=$A$A", "<<EOF", "<<-X", '["sh","-c","x"]', "[", "busybox", "x/y:1", "@sha256:00", "--platform=$A",
        "..", "../x", "-", "=", "#",
    ]
)  # fmt: skip
KEYWORDS = st.sampled_from(
    ["FROM", "RUN", "COPY", "ADD", "ARG", "ENV", "WORKDIR", "USER", "LABEL", "ONBUILD", "SHELL", "CMD", "from", "BOGUS"]
)
LINE = st.one_of(
    st.builds(lambda k, ws: " ".join([k, *ws]), KEYWORDS, st.lists(WORDS, max_size=5)),
    st.sampled_from(["", "# comment", "# syntax=docker/dockerfile:1", "# escape=`", "# escape=x", "EOF", "X", "  \\"]),
    st.text(max_size=30).filter(lambda t: "\n" not in t),
)
DOCKERFILE = st.lists(LINE, max_size=12).map(lambda lines: "\n".join(["FROM busybox AS build", *lines]) + "\n")


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ctx = tmp_path_factory.mktemp("ctx")
    (ctx / "src").mkdir()
    (ctx / "src" / "m.py").write_text("x")
    (ctx / "a.txt").write_text("a")
    return ctx


@SETTINGS
@given(text=DOCKERFILE, builder=st.sampled_from(["buildkit", "classic", "buildah"]), ignore=st.booleans())
def test_hostile_dockerfiles_simulate_or_raise_a_layerscope_error(
    context: Path, text: str, builder: str, ignore: bool
) -> None:
    (context / "Dockerfile").write_text(text)
    (context / ".dockerignore").write_text("src/*.py\n!src/m.py\n[\n" if ignore else "")
    req = CacheRequest(context=str(context), builder=builder, changed=("a.txt", "src/m.py"), build_args={"A": "v"})
    with time_limit(20), contextlib.suppress(LayerscopeError):
        simulate_cache(req)


PATTERN = st.lists(
    st.sampled_from(["a", "b", "/", "*", "**", "?", "[a-b]", "[!a]", "[^", "]", "\\", "!", ".", "..", " ", "#"]),
    max_size=10,
).map("".join)


@SETTINGS
@given(st.lists(PATTERN, max_size=6), st.lists(st.text(alphabet="ab/.*", max_size=20), max_size=5))
def test_hostile_dockerignore_lines_match_or_raise_a_format_error(lines: list[str], paths: list[str]) -> None:
    with time_limit(20):
        try:
            matcher = IgnoreMatcher(read_ignore_lines("\n".join(lines)))
        except LayerscopeError:
            return
        for p in paths:
            assert matcher.ignored(p) in (True, False)
            matcher.may_descend(p)
