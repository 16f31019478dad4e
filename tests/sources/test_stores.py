"""An image archive's member index holds every member's name: a name longer than any path
(PATH_MAX) is refused in one line, so the index stays bounded by the member count, not by
the bytes of names (20,000 names of 60 kB had taken 1.2 GB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerscope.model import MAX_PATH
from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostile import Sandbox, assert_accepted, assert_refused
from tests.support.tarcraft import end, entry, header, pax

SPEC = ImageSpec([layer_tar([d("etc"), f("etc/a", b"hello")])])


def _archive(path: Path, extra: bytes) -> str:
    """An OCI archive with `extra` members after the image's own."""
    blobs, index = SPEC.oci_blobs()
    members = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", json.dumps(index).encode())]
    members += [(f"blobs/sha256/{k[7:]}", v) for k, v in blobs.items()]
    path.write_bytes(b"".join(entry(n, data) for n, data in members) + extra + end())
    return f"oci-archive:{path}"


@pytest.mark.parametrize("field", ["path", "linkpath"])
def test_a_member_name_longer_than_a_path_is_refused(tmp_path: Path, field: str) -> None:
    junk = b"".join(pax({field: f"junk/{i}/" + "x" * 60_000}) + header("j", typeflag=b"2") for i in range(200))
    ref = _archive(tmp_path / "img.tar", junk)
    assert_refused(Sandbox(tmp_path / "box").run("inspect", ref), f"a member name of more than {MAX_PATH} characters")


def test_a_member_name_at_the_limit_is_read(tmp_path: Path) -> None:
    ref = _archive(tmp_path / "img.tar", pax({"path": "j/" + "x" * (MAX_PATH - 2)}) + header("j"))
    assert_accepted(Sandbox(tmp_path / "box").run("inspect", ref))
