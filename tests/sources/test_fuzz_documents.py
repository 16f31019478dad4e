"""Fuzzing the bytes of index.json, manifests, configs and a docker save's manifest.json (not
only the JSON values, which test_hostile_documents.py mutates): text that is not JSON, not
UTF-8, nested thousands deep or holding odd numbers either reads or raises a LayerscopeError,
never another exception and never a hang."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.api import analyze
from layerscope.errors import LayerscopeError
from tests.support.factory import ImageSpec, f, layer_tar
from tests.support.hostile import time_limit
from tests.support.layouts import OCI_CONFIG, OCI_MANIFEST, Member, OciLayout, write_dir

L0 = layer_tar([f("a", b"a" * 10)])
SPEC = ImageSpec([L0])
SETTINGS = settings(
    max_examples=80,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

_NESTED = st.builds(
    lambda open_, close, n, inner: (open_ * n + inner + close * n).encode(),
    st.sampled_from(["[", '{"a":', '{"manifests":[']),
    st.sampled_from(["]", "}", "]}"]),
    st.sampled_from([1, 100, 5000, 100_000]),
    st.sampled_from(["", "1", "null", '"x"']),
)
RAW = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    _NESTED,
    st.sampled_from([b"NaN", b"1e999999", b"-0", b"[1e400]", b'{"a":1,"a":2}', b"\xff\xfe{}", b"\x00", b'"\\ud800"']),
    st.sampled_from([b'{"schemaVersion": 1e400}', b'{"schemaVersion": 2, "manifests": {}}', b'{"layers": "x"}']),
)


def _clean(ref: str) -> None:
    with time_limit(30), contextlib.suppress(LayerscopeError):
        analyze(ref, verify=True, use_cache=False)


@SETTINGS
@given(raw=RAW, slot=st.sampled_from(["index", "manifest", "config"]))
def test_raw_oci_documents(tmp_path_factory, raw: bytes, slot: str) -> None:
    lay = OciLayout()
    cfg = lay.add_blob(raw if slot == "config" else SPEC.config_bytes())
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **lay.add_blob(L0)}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": OCI_CONFIG, **cfg}}
    manifest["layers"] = [layer]
    mraw = raw if slot == "manifest" else json.dumps(manifest).encode()
    lay.entries.append(
        {"mediaType": OCI_MANIFEST, **lay.add_blob(mraw), "platform": {"os": "linux", "architecture": "amd64"}}
    )
    members = lay.members()
    if slot == "index":
        members = [m if m.name != "index.json" else Member("index.json", raw) for m in members]
    root = write_dir(str(tmp_path_factory.mktemp("oci") / "layout"), members)
    _clean(f"oci:{root}")


@SETTINGS
@given(raw=RAW, slot=st.sampled_from(["manifest.json", "config"]))
def test_raw_docker_save_documents(tmp_path_factory, raw: bytes, slot: str) -> None:
    cfg = raw if slot == "config" else SPEC.config_bytes()
    entry = [{"Config": "cfg.json", "RepoTags": ["x/y:1"], "Layers": ["aaa/layer.tar"]}]
    members = [
        Member("cfg.json", cfg),
        Member("aaa/layer.tar", L0),
        Member("manifest.json", raw if slot == "manifest.json" else json.dumps(entry).encode()),
    ]
    root = write_dir(str(tmp_path_factory.mktemp("save") / "img"), members)
    _clean(f"docker-archive:{root}")
