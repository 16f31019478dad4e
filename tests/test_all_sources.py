"""The same image through every source gives identical layer records.

The first engine of the session builds the image with its BuildKit and `docker save`s it:
that archive is the reference. Every engine then holds the same image (the later ones
`docker load` the reference), and per engine the image is read through `docker-daemon:`,
through that engine's own `docker save` (legacy, Docker 25+ and containerd-store layouts),
and through the `oci:` directory and `oci-archive:` skopeo makes from that save.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from layerscope.api import open_image
from layerscope.model import Image
from layerscope.sources.references import TRANSPORTS
from tests.support import engine_images as sample

NAME = "layerscope-test/table:1"
TAG = "table"


@dataclass(frozen=True)
class Artifacts:
    """One engine's copies of the image."""

    docker_archive: Path
    oci_dir: Path | None
    oci_archive: Path | None


CASES: dict[str, Callable[[Artifacts], str | None]] = {
    "docker-daemon": lambda a: f"docker-daemon:{NAME}",
    "docker-archive": lambda a: f"docker-archive:{a.docker_archive}",
    "oci": lambda a: f"oci:{a.oci_dir}:{TAG}" if a.oci_dir else None,
    "oci-archive": lambda a: f"oci-archive:{a.oci_archive}:{TAG}" if a.oci_archive else None,
}
# Sources whose copy keeps the config's bytes (skopeo rewrites the config when it converts to OCI).
KEEP_CONFIG = {"docker-daemon", "docker-archive"}
# Sources with no case here, and why.
NOT_IN_TABLE = {
    "docker": "the registry source needs a docker-registry, not an engine",
    "analysis": "a saved analysis, not an image source",
}


def test_every_source_has_a_case():
    missing = set(TRANSPORTS) - set(CASES) - set(NOT_IN_TABLE)
    assert not missing, f"sources without a case in the table test: {sorted(missing)}"
    assert set(CASES) <= set(TRANSPORTS), "a case names a source layerscope no longer has"


def view(img: Image) -> dict[str, Any]:
    """Everything that depends only on the image, not on how a source stores it."""
    layers = []
    for layer in img.layers:
        r = layer.record
        assert r is not None and r.diff_id == layer.diff_id  # read with verify: hashed, not trusted
        layer_id = (layer.diff_id, layer.created_by, layer.history_index)
        layers.append((*layer_id, r.size, r.uncompressed_bytes, r.files, r.whiteouts, r.opaque_dirs, r.captured))
    history = [(h.created_by, h.empty_layer, h.layer_index) for h in img.history]
    return {"config_digest": img.config_digest, "platform": img.platform, "history": history, "layers": layers}


@pytest.fixture(scope="session")
def table_state(tmp_path_factory) -> dict[str, Any]:
    """Shared across engines: the reference archive and what it reads as."""
    return {"dir": tmp_path_factory.mktemp("table")}


@pytest.fixture(scope="session")
def artifacts(engine, table_state) -> Artifacts:
    out: Path = table_state["dir"]
    if "reference" not in table_state:
        engine.build(sample.write_context(out / "ctx"), NAME)
        ref = engine.save(NAME, out / "reference.docker.tar")
        table_state["reference"] = ref
        table_state["diff_ids"] = engine.inspect(NAME)["RootFS"]["Layers"]
    else:
        engine.load(table_state["reference"])
    archive = engine.save(NAME, out / f"{engine.id}.docker.tar")
    if shutil.which("skopeo") is None:
        return Artifacts(archive, None, None)
    oci_dir, oci_archive = out / f"{engine.id}-oci", out / f"{engine.id}.oci.tar"
    for dest in (f"oci:{oci_dir}:{TAG}", f"oci-archive:{oci_archive}:{TAG}"):
        subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{archive}", dest], check=True, capture_output=True)
    return Artifacts(archive, oci_dir, oci_archive)


@pytest.fixture(scope="session")
def expected(artifacts, table_state) -> dict[str, Any]:
    if "expected" not in table_state:
        img = open_image(f"docker-archive:{table_state['reference']}", verify=True, use_cache=False)
        assert [layer.diff_id for layer in img.layers] == table_state["diff_ids"]
        assert len(img.layers) == sample.LAYERS
        table_state["expected"] = view(img)
    return dict(table_state["expected"])


@pytest.mark.docker
@pytest.mark.parametrize("source", sorted(CASES))
def test_same_image_through_every_source(source, engine, engine_env, artifacts, expected):
    ref = CASES[source](artifacts)
    if ref is None:
        pytest.skip(f"{source}: skopeo is not installed (apt-get install skopeo)")
    img = open_image(ref, verify=True, use_cache=False)
    assert img.source == source
    got = view(img)
    for key in ("platform", "history"):
        assert got[key] == expected[key], key
    if source in KEEP_CONFIG:
        assert got["config_digest"] == expected["config_digest"]
    assert len(got["layers"]) == len(expected["layers"])
    for i, (g, e) in enumerate(zip(got["layers"], expected["layers"], strict=True)):
        assert g == e, f"layer {i} differs through {source} on {engine.id}"
