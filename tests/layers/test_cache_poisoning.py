"""A forged image read first must not change what layerscope says about the genuine one.

The forgeries keep the genuine config (so the genuine image ID and diff_ids) and swap a
layer's bytes: in an uncompressed docker save (not hashed without --verify), in a Docker
25+ save (the layer named blobs/sha256/<diff_id>) and in a gzip OCI layout (the blob named
by the genuine digest). The CLI runs as a subprocess with the cache of the test.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar, sha
from tests.support.hostile import DATA, Sandbox, assert_accepted, assert_refused
from tests.support.layouts import Member, write_members

BASE = layer_tar([d("app"), f("app/base.txt", b"b" * 300)])
GENUINE = layer_tar([f("app/model.bin", b"m" * 40_000), f("app/big.txt", b"x" * 20_000)])
FORGED = layer_tar([f("app/model.bin", b"tiny")])
CLAIMS = {"rootfs": {"type": "layers", "diff_ids": [sha(BASE), sha(GENUINE)]}}
GENUINE_SPEC = ImageSpec([BASE, GENUINE])
FORGED_SPEC = ImageSpec([BASE, FORGED], config_extra=CLAIMS)  # the genuine config, other bytes
BUDGET = '[images.app]\nmax-size = "50 kB"\n'  # the genuine image (60.3 kB) fails it, the forgery passes


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "run", limit=DATA)


def _docker25(spec: ImageSpec, path: Path) -> str:
    """Docker 25+'s save: uncompressed layers named blobs/sha256/<their diff_id, as claimed>."""
    cfg = spec.config_bytes()
    claimed = spec.config()["rootfs"]["diff_ids"]
    members = [Member(f"blobs/sha256/{sha(cfg)[7:]}", cfg)]
    for layer, diff_id in zip(spec.layers, claimed, strict=True):
        members.append(Member(f"blobs/sha256/{diff_id[7:]}", layer))
    manifest = [{"Config": f"blobs/sha256/{sha(cfg)[7:]}", "RepoTags": ["t/app:1"],
                 "Layers": [f"blobs/sha256/{x[7:]}" for x in claimed]}]  # fmt: skip
    members.append(Member("manifest.json", json.dumps(manifest).encode()))
    return write_members(str(path), members)


def _figures(out: str) -> tuple[object, ...]:
    doc = json.loads(out)
    return doc["image_id"], doc["totals"], [(x["size"], x["files"]) for x in doc["layers"]]


@pytest.mark.parametrize("layout", ["legacy", "docker25"])
def test_a_swapped_uncompressed_layer_does_not_poison_the_genuine_image(box: Sandbox, layout: str):
    inputs = box.inputs
    if layout == "legacy":
        genuine = GENUINE_SPEC.docker_archive(str(inputs / "genuine.tar"))
        forged = FORGED_SPEC.docker_archive(str(inputs / "forged.tar"))
    else:
        genuine = _docker25(GENUINE_SPEC, inputs / "genuine.tar")
        forged = _docker25(FORGED_SPEC, inputs / "forged.tar")
    truth = _figures(assert_accepted(box.run("inspect", "--json", "--no-cache", genuine, own_cache=True)))
    packages = json.loads(assert_accepted(box.run("packages", "--json", "--no-cache", genuine, own_cache=True)))
    # Not hashed without --verify: the forgery reads, with its own bytes' figures...
    fake = json.loads(assert_accepted(box.run("inspect", "--json", forged)))
    assert fake["totals"]["size"] == 300 + 4
    # ... and teaches the cache nothing about the layers it claims to have
    assert _figures(assert_accepted(box.run("inspect", "--json", genuine))) == truth
    assert json.loads(assert_accepted(box.run("packages", "--json", genuine))) == packages
    again = json.loads(assert_accepted(box.run("inspect", "--json", genuine)))
    assert again["totals"]["size"] == 300 + 60_000
    # --verify says what the forgery is, cache or not
    assert_refused(box.run("inspect", "--verify", forged), "mismatch in layer 1")  # diff_id, or the digest naming it


def test_a_budget_that_fails_still_fails_after_the_forgery(box: Sandbox):
    genuine = GENUINE_SPEC.docker_archive(str(box.inputs / "genuine.tar"))
    forged = FORGED_SPEC.docker_archive(str(box.inputs / "forged.tar"))
    (box.work / ".layerscope.toml").write_text(BUDGET)  # runs start in box.work
    cold = box.run("check", "--no-cache", genuine, "--image", "app", own_cache=True)
    assert cold.code == 1 and not cold.written, (cold.code, cold.err)
    assert box.run("check", forged, "--image", "app").code == 0  # what it claims to be passes
    for _ in range(2):  # cold for this archive, then warm
        warm = box.run("check", genuine, "--image", "app")
        assert warm.code == 1, (warm.out, warm.err)
        assert not warm.written


def _oci(spec: ImageSpec, root: Path) -> tuple[Path, str]:
    spec.oci_dir(str(root))
    index = json.loads((root / "index.json").read_text())
    manifest = json.loads((root / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    return root, manifest["layers"][1]["digest"]


def _swap_blob(root: Path, digest: str) -> None:
    """The blob named `digest` now holds another valid gzip layer, padded with zeros (which gzip
    readers skip) to the genuine blob's length: the size its descriptor says is right, so
    only the digest tells them apart."""
    blob = root / "blobs/sha256" / digest[7:]
    forged = gzip.compress(FORGED, mtime=0)
    genuine_size = blob.stat().st_size
    assert len(forged) <= genuine_size
    blob.write_bytes(forged + bytes(genuine_size - len(forged)))


@pytest.mark.parametrize("order", ["genuine first", "forged first"])
def test_a_compressed_blob_that_is_not_its_digest_is_an_error_cached_or_not(box: Sandbox, order: str):
    genuine, digest = _oci(GENUINE_SPEC, box.inputs / "genuine")
    forged, _ = _oci(GENUINE_SPEC, box.inputs / "forged")
    _swap_blob(forged, digest)
    truth = _figures(assert_accepted(box.run("inspect", "--json", "--no-cache", f"oci:{genuine}", own_cache=True)))
    runs = [("genuine", genuine), ("forged", forged)]
    if order == "forged first":
        runs.reverse()
    for _round in range(2):  # cold, then with the other image's entries in the cache
        for name, root in runs:
            r = box.run("inspect", "--json", f"oci:{root}")
            if name == "forged":
                assert_refused(r, f"digest mismatch in layer 1 ({digest})")
            else:
                assert _figures(assert_accepted(r)) == truth


def test_a_blob_rewritten_after_a_good_read_is_noticed(box: Sandbox):
    """The same layout read again after a blob changed under its name: the file-identity
    entry and the image summary no longer apply, and the blob's digest entry is not used
    for bytes that do not hash to it."""
    root, digest = _oci(GENUINE_SPEC, box.inputs / "oci")
    assert assert_accepted(box.run("inspect", "--json", f"oci:{root}"))
    assert assert_accepted(box.run("packages", "--json", f"oci:{root}"))
    _swap_blob(root, digest)
    assert_refused(box.run("inspect", "--json", f"oci:{root}"), f"digest mismatch in layer 1 ({digest})")
    assert_refused(box.run("packages", "--json", f"oci:{root}"), f"digest mismatch in layer 1 ({digest})")
