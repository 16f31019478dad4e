"""`docker-daemon:` against real engines: 20.10, 28.5 with overlay2, 28.5 with the containerd store."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tarfile

import pytest

from tests.engines import BASE_IMAGE, BUSYBOX, busybox_rootfs_tar
from tests.support import engine_images as sample

NAME = "layerscope-test/daemon:1"


@pytest.fixture(scope="session")
def built(engine, tmp_path_factory):
    """The sample image, built once per engine with that engine's BuildKit."""
    ctx = sample.write_context(tmp_path_factory.mktemp(f"ctx-{engine.id}"))
    engine.build(ctx, NAME)
    return NAME


def _inspect(run_cli, engine, ref, *flags):
    r = run_cli("inspect", "--json", "--no-cache", *flags, ref, env=engine.env)
    assert r.code == 0, r.err
    return json.loads(r.out)


@pytest.mark.docker
def test_buildkit_image_matches_the_engine(engine, built, run_cli):
    doc = _inspect(run_cli, engine, f"docker-daemon:{built}", "--verify")
    want = engine.inspect(built)
    assert doc["source"] == "docker-daemon"
    assert doc["image_id"] == want["Id"] or engine.spec.store == "containerd"  # containerd: Id is the index digest
    assert [layer["diff_id"] for layer in doc["layers"]] == want["RootFS"]["Layers"]
    assert len(doc["layers"]) == sample.LAYERS

    history = doc["history"]
    assert [h["created_by"] or "" for h in history] == engine.history(built)
    assert [h["empty_layer"] for h in history] == sample.EMPTY_LAYER
    assert [h["layer_index"] for h in history] == [0, 1, None, 2, 3, 4, None]
    assert all(h["created_by"].endswith("# buildkit") for h in history[3:6])

    copy, delete, _, replace = doc["layers"][1:]
    assert copy["files"] == 3 and copy["size"] == sum(len(v) for v in sample.FILES.values())
    assert delete["size"] == len(b"version-two\n") and delete["files"] == 1
    assert replace["files"] == 1
    assert doc["totals"]["wasted_bytes"] == sample.WASTED
    junk = next(w for w in doc["waste"] if w["path"] == "data/junk")
    assert junk == {"path": "data/junk", "bytes": 3000, "layer": 1, "hidden_by": 2, "reason": "deleted"}


@pytest.mark.docker
def test_imported_base_reads_back_the_tar_we_imported(engine, run_cli):
    doc = _inspect(run_cli, engine, f"docker-daemon:{BASE_IMAGE}", "--verify")
    imported = busybox_rootfs_tar()
    assert [layer["diff_id"] for layer in doc["layers"]] == engine.inspect(BASE_IMAGE)["RootFS"]["Layers"]
    assert doc["layers"][0]["diff_id"] == "sha256:" + hashlib.sha256(imported).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(imported)) as t:
        regular = [m for m in t.getmembers() if m.isfile()]
    assert doc["layers"][0]["files"] == len(regular)
    assert doc["layers"][0]["size"] == sum(m.size for m in regular)
    assert doc["layers"][0]["size"] > os.path.getsize(BUSYBOX)
    # docker import writes one history entry without created_by; it still maps to the layer
    assert [(h["created_by"], h["empty_layer"], h["layer_index"]) for h in doc["history"]] == [(None, False, 0)]


@pytest.mark.docker
def test_an_image_the_engine_does_not_have(engine, run_cli):
    r = run_cli("inspect", "docker-daemon:layerscope-test/absent:1", env=engine.env)
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1 and "Traceback" not in r.err
    assert "layerscope-test/absent:1" in r.err


def test_no_engine_running(tmp_path, run_cli):
    dead = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(dead))  # a socket file nobody listens on: connection refused
    r = run_cli("inspect", "docker-daemon:busybox:latest", env={"DOCKER_HOST": f"unix://{dead}"})
    assert r.code == 2
    assert len(r.err.splitlines()) == 1 and "Traceback" not in r.err
    assert str(dead) in r.err and "not running" in r.err


MULTI = "layerscope-test/multi:1"
PLATFORMS = ("linux/amd64", "linux/arm64")


@pytest.fixture(scope="session")
def multi_platform(engine, tmp_path_factory):
    """A two-platform image (COPY only: no emulator needed), which only the containerd store holds."""
    if engine.spec.store != "containerd":
        pytest.skip(f"{engine.id}: only the containerd image store keeps multi-platform images")
    ctx = tmp_path_factory.mktemp("multi")
    (ctx / "Dockerfile").write_text("FROM scratch\nARG TARGETARCH\nCOPY a.txt /a.txt\nCOPY $TARGETARCH /arch\n")
    (ctx / "a.txt").write_bytes(b"shared\n")
    for plat in PLATFORMS:
        (ctx / plat.split("/")[1]).write_bytes(plat.encode() * 10)
    engine.docker("buildx", "build", "--progress=plain", "--platform", ",".join(PLATFORMS), "-t", MULTI, str(ctx))
    return engine.save(MULTI, ctx / "multi.docker.tar")


@pytest.mark.docker
@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_of_a_multi_platform_image(engine, multi_platform, platform, run_cli):
    want = engine.inspect_platform(MULTI, platform)
    for ref in (f"docker-daemon:{MULTI}", f"docker-archive:{multi_platform}"):
        doc = _inspect(run_cli, engine, ref, "--verify", "--platform", platform)
        assert doc["platform"] == platform, ref
        assert [layer["diff_id"] for layer in doc["layers"]] == want["RootFS"]["Layers"], ref
        assert doc["layers"][1]["size"] == len(platform) * 10
        assert doc["digest"] is not None


@pytest.mark.docker
def test_a_platform_the_image_does_not_have(engine, multi_platform, run_cli):
    r = run_cli("inspect", "--platform", "linux/s390x", f"docker-daemon:{MULTI}", env=engine.env)
    assert r.code == 2 and len(r.err.splitlines()) == 1
    assert "linux/s390x" in r.err and "linux/arm64" in r.err
