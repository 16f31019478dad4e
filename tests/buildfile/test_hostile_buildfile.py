"""Dockerfile and build-context bombs: ARG values that multiply, `${a:-` nested thousands deep,
huge continuations and heredocs, `.dockerignore` patterns that backtrack exponentially in a
regex engine, and a context file of gigabytes. Each through the CLI under a timeout and a
memory limit (tests/support/hostile.py), plus the matcher checked against the regex it
replaces."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.buildfile.expand import MAX_DEPTH, ExpansionBudget, expand
from layerscope.buildfile.ignore import IgnoreMatcher, compile_pattern
from layerscope.buildfile.instructions import parse_dockerfile
from layerscope.errors import FormatError
from tests.support.hostile import HostileResult, Sandbox, assert_accepted, assert_clean, assert_refused


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "box")


def _context(box: Sandbox, dockerfile: str, files: dict[str, bytes] | None = None) -> Path:
    ctx = box.inputs / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, data in (files or {"a.txt": b"a"}).items():
        (ctx / name).write_bytes(data)
    return ctx


def _cache(box: Sandbox, ctx: Path, *extra: str, memory: int = 1536 << 20, timeout: float = 60) -> HostileResult:
    return box.run("cache", "--context", str(ctx), *extra, memory=memory, timeout=timeout)


# -- expansion ---------------------------------------------------------------------------------

MULTIPLY = "ARG a0=xxxxxxxxxx\n" + "".join(f"ARG a{k}=" + f"$a{k - 1}" * 10 + "\n" for k in range(1, 11))


@pytest.mark.parametrize("where", ["global", "stage"])
def test_arg_values_that_multiply(box, where):
    """Eleven lines, each value ten times the one before: 100 GB expanded before."""
    text = MULTIPLY + "FROM busybox\nCOPY a.txt /a\n" if where == "global" else "FROM busybox\n" + MULTIPLY
    text += "COPY a.txt /b\n"
    assert len(text) < 1024
    line = assert_refused(_cache(box, _context(box, text), "--changed", "a.txt"), "expands to more than")
    assert "Dockerfile: a variable expands" in line


def test_many_arg_values_under_the_per_value_limit_hit_the_total(box):
    """2,000 lines copying a 1 MB value each: 2 GB kept before, refused at the total budget now."""
    text = "FROM busybox\nARG f0=x\n" + "".join(f"ARG f{k}=$f{k - 1}$f{k - 1}\n" for k in range(1, 20))
    text += "".join(f"ARG g{k}=x$f19\n" for k in range(2000)) + "COPY a.txt /a\n"
    assert_refused(_cache(box, _context(box, text), "--changed", "a.txt", memory=1536 << 20), "in all")


def test_nested_defaults_thousands_deep(box):
    text = "FROM busybox\nARG x=" + "${a:-" * 5000 + "end" + "}" * 5000 + "\nCOPY a.txt /a\n"
    assert_refused(_cache(box, _context(box, text), "--changed", "a.txt"), f"nested more than {MAX_DEPTH}")


@pytest.mark.parametrize("where", ["RUN echo ", "COPY a.txt /"])
def test_nested_defaults_in_run_and_copy_are_refused_before_the_parser(box, where):
    """BuildKit's parser takes cubic time on this nesting in RUN and COPY (5,000 deep: hours);
    the ARG case above never reached it."""
    text = "FROM busybox\nARG a\n" + where + "${a:-" * 5000 + "end" + "}" * 5000 + "\n"
    line = assert_refused(_cache(box, _context(box, text), "--changed", "a.txt"), f"nested more than {MAX_DEPTH}")
    assert "line 3" in line


def test_nesting_up_to_the_limit_still_parses_across_continued_lines() -> None:
    deep = "${a:-" * MAX_DEPTH + "v" + "}" * MAX_DEPTH
    assert len(parse_dockerfile(f"FROM busybox\nRUN echo {deep}\nRUN echo {deep}\n").instructions) == 3
    half = "${a:-" * (MAX_DEPTH // 2 + 1)
    with pytest.raises(FormatError, match="line 3: variable substitutions nested"):  # where it goes past
        parse_dockerfile(f"FROM busybox\nRUN echo {half} \\ \n  {half}v" + "}" * (MAX_DEPTH + 2) + "\n")
    with pytest.raises(FormatError, match="line 4: variable substitutions nested"):
        parse_dockerfile(f"# escape=`\nFROM busybox\nRUN echo {half}`\n{half}v" + "}" * (MAX_DEPTH + 2) + "\n")


def test_thousands_of_stages_each_copying_from_the_last(box):
    """9,000 stages (18,000 lines, under every size limit): each stage reference scanned every
    stage before it, 220 s of it; a run now takes seconds, well within the sandbox's timeout."""
    stages = 9000
    text = "FROM scratch AS s0\nCOPY a.txt /a\n"
    text += "".join(f"FROM scratch AS s{k}\nCOPY --from=s{k - 1} / /\n" for k in range(1, stages))
    out = assert_accepted(_cache(box, _context(box, text), "--changed", "a.txt", timeout=120))
    assert f"target s{stages - 1}" in out
    assert f"COPY --from=s{stages - 2} / /  (the copied output changed: stage s{stages - 2} re-ran)" in out


def test_expand_still_expands_and_nests() -> None:
    env = {"A": "1", "E": ""}
    assert expand("${E:-${Z:-${A}}}-${A:+${E:-x}}", env) == "1-x"
    assert expand("${E:-{}}", env) == "{}"  # braces count as they come, as before
    deep = "${a:-" * MAX_DEPTH + "v" + "}" * MAX_DEPTH
    assert expand(deep, {}) == "v"
    with pytest.raises(FormatError, match="nested"):
        expand("${a:-" + deep + "}", {})
    budget = ExpansionBudget(limit=10)
    expand("$A$A$A$A$A", env, budget=budget)
    with pytest.raises(FormatError, match="in all"):
        expand("$A$A$A$A$A$A", env, budget=budget)


# -- parse size ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, expect",
    [
        ("RUN a \\\n" + "b \\\n" * 200_000 + "c\n", "lines"),  # minutes in the parser before
        ("RUN <<EOF\n" + "b\n" * 300_000 + "EOF\n", "lines"),
        ("RUN a \\\n" + ("b" * 200 + " \\\n") * 8000 + "c\n", "characters"),
    ],
    ids=["continuation", "heredoc", "long-continuation"],
)
def test_huge_instructions_are_refused_before_parsing(box, body, expect):
    text = "FROM busybox\n" + body
    line = assert_refused(_cache(box, _context(box, text), "--changed", "a.txt"), "too")
    assert expect in line


def test_large_but_reasonable_dockerfiles_still_parse() -> None:
    text = "FROM busybox\nRUN <<EOF\n" + "echo hi\n" * 5000 + "EOF\n" + "RUN a \\\n" + "b \\\n" * 5000 + "c\n"
    assert len(parse_dockerfile(text).instructions) == 3


# -- .dockerignore and COPY wildcards: no backtracking ----------------------------------------

STARRY = "a*" * 16 + "b"


def test_a_backtracking_dockerignore_pattern(box):
    """16 stars against a 60-character name: C(60,16) attempts for a backtracking regex."""
    name = "a" * 60
    ctx = _context(box, "FROM busybox\nCOPY . /app\n", {name: b"x", "keep.txt": b"k"})
    (ctx / ".dockerignore").write_text(f"{STARRY}\n**/{STARRY}\n")
    r = _cache(box, ctx, "--changed", name)
    assert_clean(r)
    assert r.code == 0, r.err


def test_a_backtracking_copy_wildcard(box):
    name = "a" * 60
    ctx = _context(box, f"FROM busybox\nCOPY {STARRY}* /app/\n", {name: b"x"})
    r = _cache(box, ctx, "--changed", name)
    assert_clean(r)
    assert r.code == 0, r.err


def _reference(cleaned: str) -> re.Pattern[str]:
    """The regex the matcher replaced: the docker SDK's translate() with our escapes and classes."""
    from docker.utils.fnmatch import translate

    pieces: list[str] = []
    text: list[str] = []
    i = 0
    while i < len(cleaned):
        c = cleaned[i]
        if c == "\\":
            pieces.append(re.escape(cleaned[i + 1]))
            i += 2
        elif c == "[":
            j = cleaned.index("]", i + 1)
            body = cleaned[i + 1 : j]
            neg = body[:1] in ("!", "^")
            members = body[1:] if neg else body
            pieces.append("[" + ("^" if neg else "") + "".join(m if m == "-" else re.escape(m) for m in members) + "]")
            i = j + 1
        else:
            text.append(c)
            i += 1
            continue
        text.append(chr(0xE000 + len(pieces) - 1))
    regex = translate("".join(text))
    for k, piece in enumerate(pieces):
        regex = regex.replace(chr(0xE000 + k), piece)
    return re.compile(regex[:-1] + r"\Z", re.DOTALL)  # Go's `$`: the end of the text


_ATOMS = st.sampled_from(["a", "b", "/", "*", "**", "?", "[ab]", "[!a]", "\\*", ".", "-"])
_PATHS = st.lists(st.sampled_from(["a", "b", "/", "*", ".", "-"]), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ATOMS, min_size=1, max_size=7).map("".join), _PATHS)
def test_matcher_agrees_with_the_regex_it_replaces(pattern: str, path: str) -> None:
    expected = _reference(pattern).match(path) is not None
    assert compile_pattern(pattern).match(path) is expected
    parents = [path[:k] for k, c in enumerate(path) if c == "/"]
    whole = expected or any(_reference(pattern).match(p) is not None for p in parents)
    assert compile_pattern(pattern).match_or_parent(path) is whole


def test_matcher_is_linear_on_hostile_patterns() -> None:
    m = IgnoreMatcher([STARRY, "**/" + "*a" * 30 + "b", "a**a**a**a**a**a**b"])
    assert not m.ignored("a" * 5000)
    assert not m.ignored("a/" * 2000 + "a" * 3000)


# -- a context file of gigabytes ---------------------------------------------------------------


def test_a_huge_context_file_is_hashed_in_chunks(box):
    """A 1.5 GB (sparse) file in the context, under a 1.5 GiB address-space limit: read whole, it failed."""
    ctx = _context(box, "FROM busybox\nCOPY big.bin /big.bin\n", {"small.txt": b"s"})
    with open(ctx / "big.bin", "wb") as fh:
        fh.truncate(1536 << 20)
    old = box.inputs / "old"
    old.mkdir()
    (old / "Dockerfile").write_text((ctx / "Dockerfile").read_text())
    (old / "big.bin").write_bytes(b"before")
    r = _cache(box, ctx, "--against", str(old), timeout=120)
    assert_clean(r)
    assert r.code == 0 and "big.bin changed" in r.out, (r.out, r.err)
    assert os.stat(ctx / "big.bin").st_blocks == 0  # still sparse: nothing was written to it


def test_a_dockerignore_of_two_hundred_thousand_patterns(box):
    """4.6 MB of patterns, under the text limit: 1.1 GB and 13 s compiling them before."""
    ignore = "".join(f"**/x{i}/**/y*z*[a-c]?\n" for i in range(200_000)).encode()
    ctx = _context(box, "FROM busybox\nCOPY a.txt /a\n", {"a.txt": b"a", ".dockerignore": ignore})
    assert_refused(_cache(box, ctx, "--changed", "a.txt"), "more than 10000 patterns")
