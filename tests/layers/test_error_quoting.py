"""Values from the input quoted in an error are cut: the line stays one short line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import QUOTE_LIMIT, FormatError, quote
from tests.support.factory import ImageSpec
from tests.support.hostilecli import Sandbox, refused
from tests.support.tarcraft import end, entry, pax

BIG = 3_000_000  # the 15 MB PAX value, smaller: the cut is what is tested


@given(st.one_of(st.text(max_size=600), st.binary(max_size=600)))
def test_quote_keeps_short_values_whole_and_cuts_long_ones(value):
    q = quote(value)
    if len(value) <= QUOTE_LIMIT:
        assert q == repr(value)
    else:
        assert q.startswith(repr(value[:QUOTE_LIMIT])) and q.endswith(
            f"… ({len(value)} {'characters' if isinstance(value, str) else 'bytes'})"
        )
    assert len(q) < 4 * QUOTE_LIMIT + 50  # repr escapes at most 4 characters per one


def test_an_error_message_never_grows_past_a_line():
    assert len(str(FormatError("x" * 10_000_000))) < 2100


def _run(tmp_path: Path, layer: bytes) -> str:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    path = ImageSpec([layer]).docker_archive(str(inputs / "img.tar"))
    box = Sandbox(tmp_path / "run", watch=[inputs])
    return refused(box.run("inspect", path), "")


def test_a_huge_pax_number_is_quoted_cut(tmp_path):
    layer = pax({"uid": "9" * BIG}) + entry("a", b"1") + end()
    line = _run(tmp_path, layer)
    assert "corrupt PAX header: uid='999" in line and f"… ({BIG} characters) is not a number" in line


def test_a_huge_pax_path_escaping_the_root_is_quoted_cut(tmp_path):
    layer = pax({"path": "../" * (BIG // 3)}) + entry("a", b"1") + end()
    line = _run(tmp_path, layer)
    assert f"… ({BIG - 1} characters) escapes the root" in line  # the name without its trailing /
