"""Every local layout: legacy and modern docker saves, podman's, OCI dirs and archives,
tags inside them, platforms through nested indexes, and bare-path sniffing."""

from __future__ import annotations

import json
import tarfile

import pytest

from layerscope.api import analyze, open_image
from layerscope.errors import FormatError, PlatformError
from layerscope.sources.docker_archive import LEGACY_LAYER
from layerscope.sources.platforms import host
from tests.support.factory import MEDIA, ImageSpec, d, f, layer_tar, sha, wh
from tests.support.layouts import OciLayout, docker_archive, multi_platform, podman_archive, tagged

MODERN = "modern-docker"
EMPTY_LAYER = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

L0 = layer_tar([d("app"), f("app/a", b"a" * 100), f("app/b", b"b" * 7)])
L1 = layer_tar([wh("app/a"), f("app/c", b"c" * 30)])


def spec(*layers: bytes, arch: str = "amd64", marker: str = "") -> ImageSpec:
    s = ImageSpec(list(layers), architecture=arch)
    if marker:
        s.config_extra = {"config": {"Labels": {"which": marker}}}
    return s


def files(img) -> list[list[str]]:
    return [[x.path for x in layer.record.files] for layer in img.layers]


def label(img) -> str | None:
    return ((img.config.get("config") or {}).get("Labels") or {}).get("which")


# -- docker save, legacy -------------------------------------------------------------------


def test_legacy_docker_archive(tmp_path):
    path = docker_archive(str(tmp_path / "save.tar"), [(spec(L0, L1), ["test/app:1"])])
    img = open_image(f"docker-archive:{path}", verify=True)
    assert img.source == "docker-archive" and img.digest is None
    assert [la.diff_id for la in img.layers] == [sha(L0), sha(L1)]
    assert [la.digest for la in img.layers] == [None, None]
    assert [la.media_type for la in img.layers] == [LEGACY_LAYER] * 2
    assert [la.compressed_size for la in img.layers] == [len(L0), len(L1)]
    assert files(img) == [["app", "app/a", "app/b"], ["app/c"]]
    assert img.config_digest == sha(spec(L0, L1).config_bytes())


def test_legacy_layer_tar_symlinked_to_another_layers_layer_tar(tmp_path):
    path = docker_archive(str(tmp_path / "save.tar"), [(spec(L0, L1, L0), ["test/app:1"])])
    with tarfile.open(path) as t:
        links = [m for m in t if m.issym()]
    assert len(links) == 1 and links[0].linkname.startswith("../") and links[0].linkname.endswith("/layer.tar")
    a = analyze(f"docker-archive:{path}", verify=True)
    img = a.image
    assert [la.diff_id for la in img.layers] == [sha(L0), sha(L1), sha(L0)]
    assert img.layers[2].record == img.layers[0].record
    assert img.layers[2].compressed_size == len(L0)
    # the third layer re-adds app/a over its whiteout: only app/b (7) and the new app/a (100) hide
    assert a.totals.final_size == 100 + 7 + 30 and a.totals.wasted_bytes == 107


def test_podman_hex_tar_layout(tmp_path):
    path = podman_archive(str(tmp_path / "podman.tar"), spec(L0, L1))
    img = open_image(path, verify=True)
    assert img.source == "docker-archive"
    assert [la.diff_id for la in img.layers] == [sha(L0), sha(L1)]
    assert files(img) == [["app", "app/a", "app/b"], ["app/c"]]
    assert img.config_digest == sha(spec(L0, L1).config_bytes())


def test_extracted_docker_save_directory(tmp_path):
    path = docker_archive(str(tmp_path / "save.tar"), [(spec(L0, L1, L0), ["test/app:1"])])
    out = tmp_path / "extracted"
    with tarfile.open(path) as t:
        t.extractall(out, filter="tar")  # the test's own archive; the layer.tar symlink stays a symlink
    img = open_image(str(out), verify=True)
    assert img.source == "docker-archive" and files(img)[2] == files(img)[0]


# -- docker save, modern (real engine outputs) ---------------------------------------------


@pytest.fixture
def modern(fixtures_dir):
    folder = fixtures_dir / MODERN
    if not (folder / "docker-save-docker25-layout.tar").is_file():
        pytest.skip(f"modern-docker fixtures missing in {folder}")
    return folder


def _config(path, member) -> dict:
    with tarfile.open(path) as t:
        return json.load(t.extractfile(member))  # type: ignore[arg-type]


def test_docker25_save_layout(modern):
    path = str(modern / "docker-save-docker25-layout.tar")
    a = analyze(path, verify=True)
    img = a.image
    assert img.source == "docker-archive" and img.platform == "linux/amd64"
    assert len(img.layers) == 7 and len(img.history) == 10
    assert sum(h.empty_layer for h in img.history) == 3 and img.history_aligned
    assert [la.diff_id for la in img.layers] == img.config["rootfs"]["diff_ids"]
    # uncompressed blobs, named by diff_id; the empty layer listed twice, stored once
    assert all(la.media_type == "application/vnd.oci.image.layer.v1.tar" for la in img.layers)
    assert all(la.digest == la.diff_id for la in img.layers)
    assert img.layers[5].diff_id == img.layers[6].diff_id == EMPTY_LAYER
    assert img.layers[5].compressed_size == 1024
    index = _config(path, "index.json")
    assert img.digest == index["manifests"][0]["digest"]
    assert img.layers[4].record.opaque_dirs == ("cfg",)  # overlay2 diff: an opaque directory
    assert img.layers[3].record.whiteouts == ("data/junk",)
    assert a.totals.final_size == 1982264 and a.totals.wasted_bytes == 8198
    assert sorted((w.path, w.bytes, w.layer, w.hidden_by) for w in a.waste) == [
        ("cfg/a", 3, 2, 4),
        ("cfg/b", 3, 2, 4),
        ("data/junk", 8192, 2, 3),
    ]


def test_containerd_store_save_layout(modern):
    path = str(modern / "docker-save-containerd-layout.tar")
    a = analyze(path, verify=True)
    img = a.image
    assert len(img.layers) == 7 and img.platform == "linux/amd64"
    assert [la.diff_id for la in img.layers] == img.config["rootfs"]["diff_ids"]
    assert all(la.media_type == "application/vnd.oci.image.layer.v1.tar+gzip" for la in img.layers)
    assert all(la.digest != la.diff_id for la in img.layers)
    assert img.layers[5].digest == img.layers[6].digest and img.layers[5].compressed_size == 29
    assert img.layers[6].diff_id == EMPTY_LAYER
    # the nested index lists the image and its attestation; the digest is the image manifest's
    index = _config(path, "index.json")
    (top,) = index["manifests"]
    assert top["mediaType"] == "application/vnd.oci.image.index.v1+json"
    nested = _config(path, "blobs/sha256/" + top["digest"].split(":")[1])
    kinds = {(m.get("annotations") or {}).get("vnd.docker.reference.type", "image"): m for m in nested["manifests"]}
    assert img.digest == kinds["image"]["digest"] != kinds["attestation-manifest"]["digest"]
    assert img.layers[4].record.whiteouts == ("cfg/a", "cfg/b")  # containerd differ: one per file
    assert a.totals.final_size == 1982264 and a.totals.wasted_bytes == 8198


def test_both_modern_saves_agree_on_the_filesystem(modern):
    a = analyze(str(modern / "docker-save-docker25-layout.tar"))
    b = analyze(str(modern / "docker-save-containerd-layout.tar"))
    assert [la.size for la in a.image.layers] == [la.size for la in b.image.layers]
    assert [la.files for la in a.image.layers] == [la.files for la in b.image.layers]


# -- OCI layouts: platforms, nesting, tags -------------------------------------------------

AMD = spec(L0, arch="amd64", marker="amd64")
ARM = spec(L0, L1, arch="arm64", marker="arm64")


@pytest.mark.parametrize("nested", [True, False])
def test_oci_dir_platform_choice(tmp_path, nested):
    path = multi_platform([ARM, AMD], nested=nested).write_dir(str(tmp_path / "oci"))
    if host().architecture == "amd64":
        default = open_image(f"oci:{path}")
        assert label(default) == "amd64" and default.platform == "linux/amd64"
    arm = open_image(f"oci:{path}", platform="linux/arm64")
    assert label(arm) == "arm64" and arm.platform == "linux/arm64" and len(arm.layers) == 2
    amd = open_image(f"oci:{path}", platform="linux/amd64")
    assert label(amd) == "amd64" and len(amd.layers) == 1
    assert amd.digest != arm.digest and amd.source == "oci"
    # aarch64 is arm64 (containerd's normalisation)
    assert label(open_image(path, platform="linux/aarch64")) == "arm64"


def test_unknown_platform_in_an_index(tmp_path):
    path = multi_platform([ARM, AMD]).write_dir(str(tmp_path / "oci"))
    with pytest.raises(PlatformError, match=r"no manifest for platform linux/s390x .*linux/arm64, linux/amd64"):
        open_image(f"oci:{path}", platform="linux/s390x")


def test_attestations_are_never_chosen(tmp_path):
    lay = multi_platform([ARM])
    path = lay.write_dir(str(tmp_path / "oci"))
    img = open_image(path)  # one image for another platform: read, with a note
    assert label(img) == "arm64" and any("not this host" in n for n in img.notes)


def test_oci_archive_with_nested_index(tmp_path):
    path = multi_platform([ARM, AMD]).write_archive(str(tmp_path / "oci.tar"))
    img = open_image(f"oci-archive:{path}", platform="linux/arm64", verify=True)
    assert img.source == "oci-archive" and label(img) == "arm64"
    assert [la.media_type for la in img.layers] == [MEDIA["gzip"]] * 2
    assert [la.diff_id for la in img.layers] == [sha(L0), sha(L1)]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_oci_layer_compressions(tmp_path, compression):
    path = ImageSpec([L0, L1]).oci_dir(str(tmp_path / "oci"), compression=compression)
    img = open_image(f"oci:{path}", verify=True)
    assert [la.media_type for la in img.layers] == [MEDIA[compression]] * 2
    assert [la.record.compression for la in img.layers] == [compression] * 2
    assert files(img) == [["app", "app/a", "app/b"], ["app/c"]]


def test_oci_dir_tag_selection(tmp_path):
    lay = tagged({"v1": spec(L0, marker="one"), "v2": spec(L0, L1, marker="two")})
    path = lay.write_dir(str(tmp_path / "oci"))
    assert label(open_image(f"oci:{path}:v1")) == "one"
    assert label(open_image(f"oci:{path}:v2")) == "two"
    with pytest.raises(FormatError, match=r"no image tagged 'v3' .*tags: v1, v2"):
        open_image(f"oci:{path}:v3")


def test_oci_archive_tag_selection(tmp_path):
    path = tagged({"v1": spec(L0, marker="one"), "v2": spec(L0, marker="two")}).write_archive(str(tmp_path / "o.tar"))
    assert label(open_image(f"oci-archive:{path}:v2")) == "two"


def test_oci_dir_with_a_colon_in_its_path_and_a_tag(tmp_path):
    lay = tagged({"latest": spec(L0, marker="x")})
    path = lay.write_dir(str(tmp_path / "with:colon"))
    assert label(open_image(f"oci:{path}")) == "x"
    assert label(open_image(f"oci:{path}:latest")) == "x"


def test_oci_layout_without_a_manifest_media_type_in_the_index(tmp_path):
    lay = OciLayout()
    desc = lay.add_image(AMD)
    lay.entries = [{"digest": desc["digest"], "size": desc["size"], "platform": desc["platform"]}]
    img = open_image(lay.write_dir(str(tmp_path / "oci")), platform="linux/amd64")
    assert label(img) == "amd64"


def test_index_entries_without_platforms(tmp_path):
    # skopeo's `oci:DIR:TAG` writes index entries with no platform: the config decides.
    lay = OciLayout()
    for tag, s in {"v1": spec(L0, arch="arm64", marker="one"), "v2": spec(L0, L1, marker="two")}.items():
        desc = lay.add_image(s)
        del desc["platform"]
        lay.entries.append({**desc, "annotations": {"org.opencontainers.image.ref.name": tag}})
    path = lay.write_dir(str(tmp_path / "oci"))
    v2 = open_image(f"oci:{path}:v2")
    assert label(v2) == "two" and v2.platform == "linux/amd64" and v2.notes == ()
    first = open_image(f"oci:{path}")
    assert label(first) == "one" and any("2 images" in n for n in first.notes)
    assert label(open_image(f"oci:{path}:v1", platform="linux/arm64")) == "one"


# -- docker-archive:PATH:name:tag ----------------------------------------------------------


def test_docker_archive_name_tag_selection(tmp_path):
    path = docker_archive(
        str(tmp_path / "two.tar"),
        [(spec(L0, marker="first"), ["app/one:1", "app/one:latest"]), (spec(L0, L1, marker="second"), ["app/two:2"])],
    )
    default = open_image(f"docker-archive:{path}")
    assert label(default) == "first" and any("holds 2 images" in n for n in default.notes)
    assert label(open_image(f"docker-archive:{path}:app/two:2")) == "second"
    assert label(open_image(f"docker-archive:{path}:app/one")) == "first"  # :latest implied
    assert label(open_image(f"docker-archive:{path}:@1")) == "second"
    shared = open_image(f"docker-archive:{path}:app/two:2", verify=True)
    assert shared.layers[0].diff_id == sha(L0)  # the shared base layer
    with pytest.raises(FormatError, match=r"no image 'app/three:1' .*app/one:1, app/one:latest, app/two:2"):
        open_image(f"docker-archive:{path}:app/three:1")


# -- bare paths ----------------------------------------------------------------------------


def test_bare_path_sniffing(tmp_path, fixtures_dir):
    s = spec(L0, L1)
    cases = {
        s.docker_archive(str(tmp_path / "legacy.tar")): "docker-archive",
        s.oci_archive(str(tmp_path / "oci.tar")): "oci-archive",
        s.oci_dir(str(tmp_path / "ocidir")): "oci",
        podman_archive(str(tmp_path / "podman.tar"), s): "docker-archive",
    }
    modern = fixtures_dir / MODERN / "docker-save-docker25-layout.tar"
    if modern.is_file():
        cases[str(modern)] = "docker-archive"
    for path, source in cases.items():
        img = open_image(path)
        assert img.source == source, path
        assert img.reference == path


def test_bare_relative_path(tmp_path, monkeypatch):
    spec(L0).oci_archive(str(tmp_path / "rel.tar"))
    monkeypatch.chdir(tmp_path)
    assert open_image("rel.tar").source == "oci-archive"
    assert open_image("./rel.tar").source == "oci-archive"


def test_every_local_source_gives_the_same_layer_records(tmp_path):
    s = spec(L0, L1)
    refs = [
        "docker-archive:" + s.docker_archive(str(tmp_path / "a.tar")),
        "oci:" + s.oci_dir(str(tmp_path / "d"), compression="none"),
        "oci-archive:" + s.oci_archive(str(tmp_path / "o.tar"), compression="none"),
        "docker-archive:" + podman_archive(str(tmp_path / "p.tar"), s),
    ]
    images = [open_image(r, verify=True) for r in refs]
    first = images[0]
    for img in images[1:]:
        assert [la.record for la in img.layers] == [la.record for la in first.layers], img.reference
        assert img.config_digest == first.config_digest
