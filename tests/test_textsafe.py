"""textsafe: the one escaping of image text, and each output's escaping built on it."""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from layerscope.textsafe import gh_message, gh_property, html_lines, html_text, json_dumps, md_code, md_text, visible

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


@given(ANY)
def test_xml_and_html(text: str) -> None:
    element = ET.Element("case", message=visible(text))
    element.text = visible(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="utf-8"))
    assert parsed.get("message") == visible(text)
    assert "<" not in html_text(text) and '"' not in html_text(text)
    assert html_lines("a\nb<\x1b") == "a\nb&lt;\\x1b"
