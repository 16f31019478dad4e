"""Reading a named file line by line: `split_lines` cuts only at "\\n", wherever the chunks
break, and refuses a line over its limit; `read_lines` decodes line by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import FormatError
from layerscope.readfile import read_lines, split_lines

# bytes a line may hold: anything but "\n", "\r", U+2028 and U+0085 (as UTF-8) included
LINE = st.lists(st.sampled_from([b"a", b"{", b" ", b"\r", b"\x00", "\u2028".encode(), "\u0085".encode(), b"\xff"]))


def _chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.lists(LINE.map(b"".join)), st.booleans(), st.lists(st.integers(min_value=0, max_value=400)))
def test_lines_come_back_whatever_the_chunks(lines: list[bytes], final_newline: bool, cuts: list[int]) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    got = list(split_lines(_chunked(data, cuts), 1 << 20, "log"))
    # a last empty line without its "\n" is no line (as for str.splitlines)
    expect = lines[:-1] if lines and not lines[-1] and not final_newline else lines
    assert got == expect


@given(st.lists(LINE.map(b"".join), min_size=1), st.lists(st.integers(min_value=0, max_value=400)))
def test_a_line_over_the_limit_is_refused_with_its_number(lines: list[bytes], cuts: list[int]) -> None:
    limit = max(len(x) for x in lines)
    data = b"\n".join(lines) + b"\n"
    assert list(split_lines(_chunked(data, cuts), limit, "log")) == lines
    if limit == 0:
        return
    with pytest.raises(FormatError) as err:
        list(split_lines(_chunked(data, cuts), limit - 1, "log"))
    first = next(i for i, x in enumerate(lines, start=1) if len(x) == limit)
    assert str(err.value) == f"log: line {first} is longer than {limit - 1} bytes"


def test_crlf_keeps_its_carriage_return() -> None:
    assert list(split_lines([b"a\r\nb\r", b"\nc"], 10, "log")) == [b"a\r", b"b\r", b"c"]


def test_read_lines_decodes_each_line_and_names_the_one_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes("caf\u00e9\n\u2028x\r\n".encode() + b"ok\nab\xffc\n")
    lines = read_lines(str(path), "--timings", 100)
    assert [next(lines) for _ in range(3)] == ["caf\u00e9", "\u2028x\r", "ok"]
    with pytest.raises(FormatError, match=r"is not UTF-8 text \(line 4, byte 17\)"):
        next(lines)


def test_read_lines_refuses_a_long_line_having_read_only_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with open(path, "wb") as fh:
        fh.write(b"{}\n")
        fh.truncate(1 << 34)  # 16 GiB of zeros, on no disk: what is read of it must stop at the limit
    with pytest.raises(FormatError, match=r"--timings .*sparse: line 2 is longer than 4096 bytes"):
        list(read_lines(str(path), "--timings", 4096))
