"""OCI layout directories as hostile input: blobs that change after a good read (the image
summary and the per-layer cache must notice), blob symlinks out of the layout, and blobs
that are not regular files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostilecli import Sandbox, accepted, refused

SPEC = ImageSpec([layer_tar([d("app"), f("app/a", b"a" * 500)]), layer_tar([f("app/b", b"b" * 70)])])


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Sandbox, Path, dict[str, str]]:
    """A sandbox, an OCI layout directory, and its blobs' digests by role."""
    root = tmp_path / "inputs" / "oci"
    SPEC.oci_dir(str(root))
    index = json.loads((root / "index.json").read_text())
    mdigest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(root, mdigest).read_text())
    digests = {
        "manifest": mdigest,
        "config": manifest["config"]["digest"],
        "layer0": manifest["layers"][0]["digest"],
        "layer1": manifest["layers"][1]["digest"],
    }
    return Sandbox(tmp_path / "run", watch=[tmp_path / "inputs"]), root, digests


def _blob(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.split(":")[1]


def _inspect(box: Sandbox, root: Path) -> dict[str, object]:
    return json.loads(accepted(box.run("inspect", "--json", f"oci:{root}")))


# -- the summary cache of a layout directory ------------------------------------------------


@pytest.mark.parametrize("role", ["layer1", "config", "manifest"])
def test_a_deleted_blob_is_noticed_after_a_good_read(layout, role):
    box, root, digests = layout
    first = _inspect(box, root)
    assert _inspect(box, root) == first  # the summary answers
    path = _blob(root, digests[role])
    saved = path.read_bytes()
    path.unlink()
    refused(box.run("inspect", "--json", f"oci:{root}"), "which is missing")
    refused(box.run("inspect", "--json", str(root)), "which is missing")  # a bare path too
    path.write_bytes(saved)
    assert _inspect(box, root) == first


@pytest.mark.parametrize("role", ["layer0", "config"])
def test_a_blob_corrupted_in_place_is_noticed_even_with_its_times_put_back(layout, role):
    """Same size, same mtime (restored): the ctime still changed, and the key holds it."""
    box, root, digests = layout
    _inspect(box, root)
    path = _blob(root, digests[role])
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    refused(box.run("inspect", "--json", f"oci:{root}"), "digest mismatch")


def test_an_unrelated_new_file_only_costs_a_read(layout):
    box, root, _ = layout
    first = _inspect(box, root)
    (root / "blobs" / "sha256" / ("0" * 64)).write_bytes(b"another image's blob")
    assert _inspect(box, root) == first


# -- symlinks and special files ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["layer1", "config"])
def test_a_blob_symlink_out_of_the_layout_is_refused(layout, tmp_path, role):
    """The target holds the very bytes the digest names: it would read fine, from outside."""
    box, root, digests = layout
    path = _blob(root, digests[role])
    outside = tmp_path / "inputs" / "elsewhere.bin"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    os.symlink(outside, path)
    line = refused(box.run("inspect", f"oci:{root}"), "resolves outside it")
    assert digests[role].split(":")[1] in line
    path.unlink()
    os.symlink(os.path.relpath(outside, path.parent), path)  # relative, through ..
    refused(box.run("inspect", f"oci:{root}"), "resolves outside it")


def test_index_json_symlinked_out_of_the_layout_is_refused(layout, tmp_path):
    box, root, _ = layout
    outside = tmp_path / "inputs" / "index.json"
    (root / "index.json").rename(outside)
    os.symlink(outside, root / "index.json")
    refused(box.run("inspect", f"oci:{root}"), "resolves outside it")


def test_a_blob_symlink_to_a_device_is_refused(layout):
    box, root, digests = layout
    path = _blob(root, digests["layer0"])
    path.unlink()
    os.symlink("/dev/zero", path)
    refused(box.run("inspect", f"oci:{root}", timeout=60), "resolves outside it")


def test_a_fifo_blob_is_refused_without_waiting_for_a_writer(layout):
    box, root, digests = layout
    path = _blob(root, digests["layer1"])
    path.unlink()
    os.mkfifo(path)
    refused(box.run("inspect", f"oci:{root}", timeout=60), "not a regular file (a FIFO)")


def test_symlinks_inside_the_layout_still_read(layout):
    box, root, digests = layout
    first = json.loads(accepted(box.run("inspect", "--json", "--no-cache", f"oci:{root}")))
    path = _blob(root, digests["layer1"])
    keep = root / "blobs" / "store" / "layer1"
    keep.parent.mkdir()
    path.rename(keep)
    os.symlink(os.path.relpath(keep, path.parent), path)
    again = json.loads(accepted(box.run("inspect", "--json", "--no-cache", f"oci:{root}")))
    assert again["totals"] == first["totals"]
