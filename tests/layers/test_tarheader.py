"""Tar header numbers beyond an int64 are corrupt headers (Go's reader refuses them too): a
saved analysis holds only int64s, so whatever the walker accepts must fit one, or a run
that read the layer fine writes an analysis (and a summary-cache entry) no run can load."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.errors import FormatError
from layerscope.layers.tarheader import TarHeader
from layerscope.layers.tarwalk import TarWalker
from layerscope.units import MAX_SIZE
from tests.support.factory import ImageSpec
from tests.support.hostile import Sandbox, assert_accepted, assert_refused
from tests.support.tarcraft import base256, end, entry, header, pax

FIELDS = ("uid", "gid", "mtime")


def walk(data: bytes) -> list[TarHeader]:
    return list(TarWalker(io.BytesIO(data)))


def fits(h: TarHeader) -> bool:
    """The ranges a saved analysis takes (analysis/validate.py): these three may be negative."""
    return all(-MAX_SIZE <= n <= MAX_SIZE for n in (h.uid, h.gid, h.mtime))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FIELDS), st.integers(min_value=-(2**200), max_value=2**200))
def test_a_pax_number_is_taken_only_within_an_int64(field: str, value: int) -> None:
    data = pax({field: str(value)}) + entry("a", b"x") + end()
    try:
        (h,) = walk(data)
    except FormatError as err:
        assert "out of range" in str(err)
        return
    assert fits(h) and getattr(h, field) == value


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([(108, 8), (116, 8), (136, 12)]), st.integers(min_value=-(2**95), max_value=2**95))
def test_a_base256_number_is_taken_only_within_range(where: tuple[int, int], value: int) -> None:
    at, width = where
    block = bytearray(header("a", size=0))
    block[at : at + width] = base256(value, width)
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}".encode() + b"\0 "
    try:
        (h,) = walk(bytes(block) + end())
    except FormatError:
        return
    assert fits(h)


def test_a_pax_mtime_of_thousands_of_digits_is_one_error() -> None:
    with pytest.raises(FormatError, match="out of range"):
        walk(pax({"mtime": "9" * 5000}) + entry("a") + end())


@pytest.mark.parametrize(
    ("records", "expect"),
    [
        ({"uid": str(10**30)}, "uid="),
        ({"gid": str(-(10**30))}, "gid="),
        ({"mtime": str(10**30)}, "mtime="),
        ({"mtime": "-" + "9" * 5000}, "mtime="),
    ],
)
def test_the_cli_refuses_them_in_one_line(tmp_path: Path, records: dict[str, str], expect: str) -> None:
    image = ImageSpec([pax(records) + entry("a", b"x") + end()]).docker_archive(str(tmp_path / "img.tar"))
    assert_refused(Sandbox(tmp_path / "box").run("inspect", image), expect)


def test_the_extremes_it_takes_load_back_from_a_saved_analysis(tmp_path: Path) -> None:
    layer = pax({"uid": str(MAX_SIZE), "gid": "-5", "mtime": str(-MAX_SIZE)}) + entry("a", b"x") + end()
    image = ImageSpec([layer]).docker_archive(str(tmp_path / "img.tar"))
    box = Sandbox(tmp_path / "box")
    saved = tmp_path / "saved.json"
    r = box.run("inspect", "--save", str(saved), image, outputs=(saved,))
    assert r.code == 0, r.err
    assert_accepted(box.run("packages", f"analysis:{saved}"))


def test_pax_records_the_walker_does_not_apply_are_checked_and_dropped() -> None:
    from layerscope.layers.tarheader import PAX_KEYS, parse_pax
    from tests.support.tarcraft import pax_records

    records = {"path": "p", "comment": "c", "SCHILY.xattr.user.x": "v", "mtime": "1.5", "GNU.sparse.size": "9"}
    assert parse_pax(pax_records(records)) == {"path": "p", "mtime": "1.5", "GNU.sparse.size": "9"}
    assert set(parse_pax(pax_records(records))) <= PAX_KEYS
    with pytest.raises(FormatError, match="malformed record"):
        parse_pax(pax_records({"comment": "c"}).replace(b"=", b":"))  # a dropped record is still checked


def test_a_global_header_of_400000_records_before_20000_entries(tmp_path: Path) -> None:
    """Each entry had merged the global records into its own: minutes, under the sandbox's timeout now."""
    g = pax({f"k{i}": "v" for i in range(400_000)} | {"uid": "7"}, global_=True)
    layer = g + b"".join(header(f"f{i}") for i in range(20_000)) + end()
    image = ImageSpec([layer]).docker_archive(str(tmp_path / "img.tar"))
    box = Sandbox(tmp_path / "box")
    saved = tmp_path / "saved.json"
    r = box.run("inspect", "--save", str(saved), image, outputs=(saved,))
    assert r.code == 0, r.err
    files = json.loads(saved.read_text())["layers"][0]["record"]["files"]
    assert len(files) == 20_000 and {x[4] for x in files} == {7}  # the global uid still applies
