"""Values from the input quoted in an error are cut: the line stays one short line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from layerscope.errors import QUOTE_LIMIT, FormatError, quote
from tests.support.factory import ImageSpec
from tests.support.hostile import DATA, Sandbox, assert_refused
from tests.support.tarcraft import end, entry, pax

BIG = 3_000_000  # the 15 MB PAX value, smaller: the cut is what is tested


@given(st.one_of(st.text(max_size=600), st.binary(max_size=600)))
@example("0" * 19 + "\U0002ebe1" * 30)  # 49 characters, a repr of 321: hypothesis found it
@example("\U0002ebe1" * 600)
def test_quote_keeps_short_values_whole_and_cuts_long_ones(value):
    q = quote(value)
    text = repr(value)
    if len(value) <= QUOTE_LIMIT and len(text) <= QUOTE_LIMIT + 2:
        assert q == text
    elif len(value) <= QUOTE_LIMIT:  # few characters, many escapes (\U0002ebe1): the repr is what is cut
        assert q == f"{text[:QUOTE_LIMIT]}… ({len(text)} characters)"
    else:
        assert q.startswith(repr(value[:QUOTE_LIMIT])) and q.endswith(
            f"… ({len(value)} {'characters' if isinstance(value, str) else 'bytes'})"
        )
    assert len(q) < 10 * QUOTE_LIMIT + 50  # repr escapes at most 10 characters per one (\UXXXXXXXX)


def test_an_error_message_never_grows_past_a_line():
    assert len(str(FormatError("x" * 10_000_000))) < 2100


def _run(tmp_path: Path, layer: bytes) -> str:
    box = Sandbox(tmp_path, limit=DATA)
    path = ImageSpec([layer]).docker_archive(str(box.inputs / "img.tar"))
    return assert_refused(box.run("inspect", path), "")


def test_a_huge_pax_number_is_quoted_cut(tmp_path):
    layer = pax({"uid": "9" * BIG}) + entry("a", b"1") + end()
    line = _run(tmp_path, layer)
    assert "corrupt PAX header: uid='999" in line and f"… ({BIG} characters) is not a number" in line


def test_a_huge_pax_path_escaping_the_root_is_quoted_cut(tmp_path):
    layer = pax({"path": "../" * (BIG // 3)}) + entry("a", b"1") + end()
    line = _run(tmp_path, layer)
    assert f"… ({BIG - 1} characters) escapes the root" in line  # the name without its trailing /
