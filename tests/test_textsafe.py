"""textsafe: the one escaping of image text, and each output's escaping built on it."""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from layerscope.textsafe import (
    gh_message,
    gh_property,
    html_lines,
    html_text,
    json_dumps,
    log_line,
    log_text,
    md_code,
    md_text,
    visible,
)
from tests.support.hostile_text import runner_commands

# Text as images hold it: any code point, lone surrogates (bytes that were not UTF-8) included.
ANY = st.text(st.characters(codec=None, blacklist_categories=()), max_size=60)
HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def unsafe(text: str) -> bool:
    """What no shown text may hold raw: a character of Unicode's hidden categories."""
    return any(unicodedata.category(ch) in HIDDEN for ch in text)


def test_the_escaped_form() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("one\ntwo\r\tx\x7f") == "one\\ntwo\\r\\tx\\x7f"
    assert visible("caf\udce9") == "caf\\xe9"  # the byte that was not UTF-8
    assert visible("\u009b31m \u202eexe.txt \U000e0041") == "\\u009b31m \\u202eexe.txt \\U000e0041"
    assert visible("printf 'a\\nb' C:\\x1b é ü 中文 🙂") == "printf 'a\\nb' C:\\x1b é ü 中文 🙂"  # left as is
    assert visible("a\u00a0b \ue000 \u200d") == "a\u00a0b \\ue000 \\u200d"  # a space stays; private use, ZWJ not


@given(ANY)
def test_visible_leaves_nothing_unsafe_and_is_idempotent(text: str) -> None:
    shown = visible(text)
    assert not unsafe(shown)
    shown.encode("utf-8")  # writable to any UTF-8 stream (raises otherwise)
    assert visible(shown) == shown
    if not unsafe(text):
        assert shown == text


@given(ANY)
def test_json_is_exact_valid_utf8_and_terminal_safe(text: str) -> None:
    out = json_dumps({"name": text, "list": [text]})
    out.encode("utf-8")  # no lone surrogate left raw
    assert not unsafe(out.replace("\n", " "))
    assert json.loads(out) == {"name": text, "list": [text]}


def test_json_names_that_are_not_utf8() -> None:
    out = json_dumps("caf\udce9")
    assert out == '"caf\\udce9"'
    assert json.loads(out).encode("utf-8", "surrogateescape") == b"caf\xe9"


@given(ANY)
def test_markdown_code_span(text: str) -> None:
    span = md_code(text)
    fence = re.match("`+", span)
    assert fence is not None
    body = span[len(fence.group()) : -len(fence.group())]
    assert span.endswith(fence.group())
    assert "`" * len(fence.group()) not in body  # the span cannot end early
    assert "|" not in body.replace("\\|", "")  # nor a table cell
    assert not unsafe(span)


@given(ANY)
def test_markdown_text_has_no_active_character(text: str) -> None:
    out = md_text(text)
    assert not unsafe(out)
    # every character that makes inline Markdown is backslashed
    assert not re.search(r"(?<!\\)[`*_\[\]<>!|~&@:]", out.replace("\\\\", ""))


@given(ANY)
def test_github_workflow_commands(text: str) -> None:
    message, title = gh_message(text), gh_property(text)
    for out in (message, title):
        assert "\n" not in out and "\r" not in out and not unsafe(out)
        assert not re.search("%(?!25|0D|0A|3A|2C)", out)
    assert ":" not in title and "," not in title
    assert "##[" not in message and "##[" not in title


# What a CI runner would read as a command of its own: `##[`, `::`, blanks, and what a name holds.
CI_PIECES = ["##[", "##vso[", "##VSO[", "vso", "#", "[", "]", "::", ":", "x", "%0A"]
CI_PIECES += [" ", "\u00a0", "\t", "\n", "\r", "\ufe0f", "\u0301", "\u3164"]  # blanks; what matching skips
CI_TEXT = st.lists(st.sampled_from(CI_PIECES), max_size=12).map("".join)


def test_the_ci_log_forms() -> None:
    assert log_text("/app/##[stop-commands]tok") == "/app/##\\x5bstop-commands]tok"
    assert log_text("###[error]x ##[") == "###\\x5berror]x ##\\x5b"
    assert log_line("  ::error title=x::y") == "  \\x3a:error title=x::y"
    assert log_line("a ::error::b") == "a ::error::b"  # not at the start: no runner reads it
    assert log_line("nl\n::error::x") == "nl\\n::error::x"  # one line: visible() escaped the newline
    assert gh_message("##[error]x") == "##\\x5berror]x"
    # what a culture-sensitive match steps over does not hide a prefix
    assert log_text("#\ufe0f#\u0301[x") == "#\ufe0f#\u0301\\x5bx"
    assert log_line("\u3164:\ufe0f:error::x") == "\u3164\\x3a\ufe0f:error::x"
    assert (
        log_text("a ##vso[task.setvariable variable=X]1 ##VsO[")
        == "a ##vso\\x5btask.setvariable variable=X]1 ##VsO\\x5b"
    )


@given(st.one_of(ANY, CI_TEXT), st.one_of(ANY, CI_TEXT))
def test_a_log_line_holds_no_runner_command(prefix: str, text: str) -> None:
    line = log_line(prefix + text)
    assert "\n" not in line and "\r" not in line and not unsafe(line)
    assert runner_commands(line) == []
    assert log_line(line) == line  # idempotent, as visible() is
    inner = log_text(text)
    assert "##[" not in inner and "##vso[" not in inner.lower() and log_text(inner) == inner
    if "##[" not in text and "##vso[" not in text.lower():
        assert inner == visible(text)  # nothing else changes


@given(st.one_of(ANY, CI_TEXT), st.integers(min_value=0, max_value=2) | st.none())
def test_json_gives_a_ci_runner_no_command_and_the_same_document(text: str, indent: int | None) -> None:
    doc = {"path": text, "history": [{"created_by": text}]}
    out = json_dumps(doc, indent=indent)
    assert runner_commands(out) == []
    assert json.loads(out) == doc


def test_the_json_ci_form() -> None:
    assert json_dumps("/app/##[stop-commands]tok") == '"/app/##\\u005bstop-commands]tok"'
    assert json_dumps(["##vso[x", "#[", "[##"]) == '[\n  "##vso\\u005bx",\n  "#[",\n  "[##"\n]'


@given(ANY)
def test_xml_and_html(text: str) -> None:
    element = ET.Element("case", message=visible(text))
    element.text = visible(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="utf-8"))
    assert parsed.get("message") == visible(text)
    assert "<" not in html_text(text) and '"' not in html_text(text)
    assert html_lines("a\nb<\x1b") == "a\nb&lt;\\x1b"


def test_the_public_api_gives_the_same_escaping() -> None:
    """`layerscope.visible` is what a notebook or caller printing image text itself uses."""
    import layerscope

    assert layerscope.visible is visible
    assert "visible" in layerscope.__all__
    assert layerscope.visible("RUN echo \x1b]52;c;aGk=\x07") == "RUN echo \\x1b]52;c;aGk=\\x07"
