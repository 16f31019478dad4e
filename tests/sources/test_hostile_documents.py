"""Any JSON where manifest.json, index.json, a manifest or a config should be: the sources
either read an image or raise a LayerscopeError (one line for the user), never a bug."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.analysis.serialize import inspect_document, saved_document
from layerscope.api import analyze
from layerscope.errors import LayerscopeError
from layerscope.output.text.inspect import render
from tests.support.factory import ImageSpec, f, layer_tar, sha
from tests.support.layouts import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Member, OciLayout, write_members

L0 = layer_tar([f("a", b"a" * 10)])
SPEC = ImageSpec([L0])
HEX = sha(L0).split(":")[1]

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_scalars = st.none() | st.booleans() | st.integers(-5, 2**40) | st.text(max_size=12)
_interesting = st.sampled_from(
    ["cfg.json", "aaa/layer.tar", f"blobs/sha256/{HEX}", sha(L0), "../x", "/abs", "layers", "", ".", "aaa"]
)
JSON = st.recursive(
    _scalars | _interesting,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
)


def mutate(doc: dict[str, Any], keys: list[str], draw: st.DrawFn) -> dict[str, Any]:
    out = dict(doc)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        if draw(st.booleans()):
            out[key] = draw(JSON)
        else:
            out.pop(key, None)
    return out


def _must_be_clean(ref: str, platform: str | None = None) -> None:
    """Reads, or fails with a LayerscopeError; what reads also renders (text and JSON)."""
    try:
        a = analyze(ref, platform=platform, verify=True)
    except LayerscopeError:
        return
    json.dumps(inspect_document(a))
    json.dumps(saved_document(a))
    assert render(a)


@SETTINGS
@given(data=st.data(), selector=st.sampled_from(["", ":x/y:1", ":@0", ":@3", ":nope"]))
def test_hostile_manifest_json(tmp_path_factory, data, selector):
    entry = {
        "Config": "cfg.json",
        "RepoTags": ["x/y:1"],
        "Layers": ["aaa/layer.tar"],
        "LayerSources": {sha(L0): {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(L0)}},
    }
    entry = mutate(entry, ["Config", "RepoTags", "Layers", "LayerSources"], data.draw)
    doc = data.draw(st.sampled_from(["list", "raw"]))
    manifest = [entry] if doc == "list" else data.draw(JSON)
    members = [
        Member("cfg.json", SPEC.config_bytes()),
        Member("aaa/layer.tar", L0),
        Member(f"blobs/sha256/{HEX}", L0),
        Member("manifest.json", json.dumps(manifest).encode()),
    ]
    path = write_members(str(tmp_path_factory.mktemp("da") / "img.tar"), members)
    _must_be_clean(f"docker-archive:{path}{selector}")


@SETTINGS
@given(data=st.data())
def test_hostile_oci_documents(tmp_path_factory, data):
    lay = OciLayout()
    config = mutate(SPEC.config(), ["rootfs", "history", "os", "architecture", "variant"], data.draw)
    if data.draw(st.booleans()) and isinstance(config.get("rootfs"), dict):
        config["rootfs"] = mutate(config["rootfs"], ["type", "diff_ids"], data.draw)
    cfg = lay.add_blob(json.dumps(config).encode())
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **lay.add_blob(L0)}
    layer = mutate(layer, ["mediaType", "digest", "size", "urls", "annotations"], data.draw)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": OCI_CONFIG, **cfg}}
    manifest["layers"] = [layer]
    manifest = mutate(manifest, ["schemaVersion", "mediaType", "config", "layers"], data.draw)
    desc = {"mediaType": OCI_MANIFEST, **lay.add_blob(json.dumps(manifest).encode())}
    desc["platform"] = {"os": "linux", "architecture": "amd64"}
    desc["annotations"] = {"org.opencontainers.image.ref.name": "t"}
    desc = mutate(desc, ["mediaType", "digest", "platform", "annotations"], data.draw)
    if data.draw(st.booleans()):  # behind a nested index
        desc = {"mediaType": OCI_INDEX, **lay.add_blob(json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode())}
    index = mutate(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}, ["mediaType", "manifests"], data.draw
    )
    root = tmp_path_factory.mktemp("oci") / "layout"
    lay.write_dir(str(root))
    (root / "index.json").write_text(json.dumps(index))
    tag = data.draw(st.sampled_from(["", ":t", ":other"]))
    platform = data.draw(st.sampled_from([None, "linux/amd64", "linux/arm64"]))
    _must_be_clean(f"oci:{root}{tag}", platform)


@SETTINGS
@given(data=st.data(), platform=st.sampled_from([None, "linux/amd64", "linux/arm64"]))
def test_hostile_index_in_a_docker_save(tmp_path_factory, data, platform):
    """Docker 25+ saves: manifest.json plus an OCI index that only cross-checks and picks platforms."""
    cfg_raw = SPEC.config_bytes()
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(L0), "size": len(L0)}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha(cfg_raw), "size": len(cfg_raw)},
        "layers": [mutate(layer, ["mediaType", "digest"], data.draw)],
    }
    manifest = mutate(manifest, ["config", "layers", "mediaType"], data.draw)
    mraw = json.dumps(manifest).encode()
    desc = {"mediaType": OCI_MANIFEST, "digest": sha(mraw), "size": len(mraw)}
    desc = mutate(desc, ["mediaType", "digest", "platform", "annotations"], data.draw)
    index = mutate({"schemaVersion": 2, "manifests": [desc]}, ["manifests", "mediaType"], data.draw)
    entry = {"Config": f"blobs/sha256/{sha(cfg_raw).split(':')[1]}", "Layers": [f"blobs/sha256/{HEX}"]}
    members = [
        Member(entry["Config"], cfg_raw),
        Member(f"blobs/sha256/{HEX}", L0),
        Member(f"blobs/sha256/{sha(mraw).split(':')[1]}", mraw),
        Member("index.json", json.dumps(index).encode()),
        Member("manifest.json", json.dumps([entry]).encode()),
    ]
    path = write_members(str(tmp_path_factory.mktemp("d25") / "img.tar"), members)
    _must_be_clean(path, platform)
