"""Bad input through the CLI: one line on stderr starting `layerscope: `, exit code 2, no
traceback (unless --debug), and nothing written anywhere."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.factory import ImageSpec, d, f, layer_tar, sha
from tests.support.layouts import Member, OciLayout, docker_archive, multi_platform, single, write_members
from tests.support.tarcraft import end, entry, gzip_bomb

L0 = layer_tar([d("app"), f("app/a", b"a" * 100)])
L1 = layer_tar([f("app/b", b"b" * 10)])
SPEC = ImageSpec([L0, L1])


@pytest.fixture
def bad(run_cli, tmp_path, tmp_path_factory):
    """Run `inspect` on a bad input; check the one-line contract and that nothing is written."""
    scratch = tmp_path / "scratch-tmp"
    scratch.mkdir()

    def check(*args: str, expect: str, code: int = 2) -> str:
        before_repo = _listing(REPO)
        before_tmp = _listing(tmp_path)
        # A cold per-layer cache: the input itself is judged, not what an earlier test read.
        cache = tmp_path_factory.mktemp("cache")
        r = run_cli("inspect", *args, env={"TMPDIR": str(scratch), "LAYERSCOPE_CACHE_DIR": str(cache)})
        assert r.code == code, (r.code, r.err)
        assert r.out == ""
        lines = r.err.splitlines()
        assert len(lines) == 1, r.err
        assert lines[0].startswith("layerscope: "), r.err
        assert "Traceback" not in r.err and "internal error" not in r.err
        assert expect.lower() in lines[0].lower(), lines[0]
        assert _listing(REPO) == before_repo  # the working directory is untouched
        assert _listing(tmp_path) == before_tmp  # nothing extracted next to the input
        return lines[0]

    return check


_SKIP = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def _listing(root: Path) -> set[tuple[str, int]]:
    out = set()
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in _SKIP]
        for n in names:
            p = os.path.join(dirpath, n)
            out.add((os.path.relpath(p, root), os.lstat(p).st_size))
    return out


def blob_path(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.split(":")[1]


# -- not an image ------------------------------------------------------------------------


def test_missing_file(bad, tmp_path):
    bad(str(tmp_path / "nope.tar"), expect="no such file")
    bad(f"docker-archive:{tmp_path / 'nope.tar'}", expect="no such file")
    bad(f"oci:{tmp_path / 'nodir'}", expect="no such directory")
    bad(f"oci-archive:{tmp_path / 'nope.tar'}", expect="no such file")


def test_empty_file(bad, tmp_path):
    (tmp_path / "empty.tar").write_bytes(b"")
    bad(str(tmp_path / "empty.tar"), expect="empty")


def test_not_a_tar(bad, tmp_path):
    path = tmp_path / "random.tar"
    path.write_bytes(random.Random(1).randbytes(5000))
    bad(str(path), expect="not an image archive")
    bad(f"docker-archive:{path}", expect="not a tar stream")


def test_a_tar_that_is_no_image(bad, tmp_path):
    path = tmp_path / "notes.tar"
    path.write_bytes(layer_tar([f("notes.txt", b"hello"), f("more.txt", b"x")]))
    bad(str(path), expect="not an image archive: no manifest.json or index.json (2 files)")
    bad(f"oci-archive:{path}", expect="not an OCI archive")


def test_a_root_filesystem_tar(bad, tmp_path):
    path = tmp_path / "rootfs.tar"
    path.write_bytes(layer_tar([d("etc"), f("etc/os-release", b"ID=x"), d("usr")]))
    bad(str(path), expect="is a root filesystem tar, not an image archive")


def test_a_directory_that_is_no_layout(bad, tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "file").write_text("x")
    bad(str(tmp_path / "dir"), expect="not an OCI image layout")


@pytest.mark.parametrize("how", ["gzip", "zstd"])
def test_a_compressed_archive(bad, tmp_path, how):
    plain = SPEC.docker_archive(str(tmp_path / "img.tar"))
    data = Path(plain).read_bytes()
    if how == "gzip":
        packed = gzip.compress(data)
    else:
        import zstandard

        packed = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / f"img.tar.{how}"
    path.write_bytes(packed)
    bad(str(path), expect=f"is a {how}-compressed file, not an image archive")


PLAIN_ROOTFS = ["test-uncompressed-image.tar", "test-gzip-image.tar", "test-estargz-image.tar", "test-zstd-image.tar"]


@pytest.mark.parametrize("name", PLAIN_ROOTFS)
def test_dive_plain_rootfs_tars_are_refused(bad, fixtures_dir, name):
    path = fixtures_dir / "dive" / name
    if not path.is_file():
        pytest.skip(f"{path} missing")
    line = bad(str(path), expect="is a tar but not an image archive: no manifest.json or index.json (1 file)")
    assert line.startswith(f"layerscope: {path} ")


# -- broken layers -------------------------------------------------------------------------


def test_truncated_gzip_layer_in_an_oci_archive(bad, tmp_path):
    lay = single(SPEC, blob=lambda b: b[: len(b) // 2])  # digests name the truncated bytes
    path = lay.write_archive(str(tmp_path / "oci.tar"))
    bad(path, expect="truncated gzip stream in layer 0")


def test_corrupt_gzip_layer(bad, tmp_path):
    lay = single(SPEC, blob=lambda b: b[:12] + bytes(x ^ 0x5A for x in b[12:40]) + b[40:])
    bad(lay.write_archive(str(tmp_path / "oci.tar")), expect="gzip stream in layer 0")


def test_dot_dot_entry_inside_a_layer(bad, tmp_path):
    evil = entry("ok", b"1") + entry("../../etc/cron.d/evil", b"* * * * * root id") + end()
    path = ImageSpec([L0, evil]).docker_archive(str(tmp_path / "img.tar"))
    bad(path, expect="escapes the root")


def test_absolute_hardlink_escape_inside_a_layer(bad, tmp_path):
    from tests.support.tarcraft import header

    evil = entry("ok", b"1") + header("link", typeflag=b"1", linkname="../../../etc/shadow") + end()
    bad(ImageSpec([evil]).docker_archive(str(tmp_path / "img.tar")), expect="hardlink target")


def test_decompression_bomb(bad, tmp_path):
    lay = OciLayout()
    spec = ImageSpec([b""])  # the diff_id is not checked without --verify
    lay.entries.append(lay.add_image(spec, blob=lambda _: b"".join(gzip_bomb(320 << 20))))
    path = lay.write_dir(str(tmp_path / "oci"))
    bad(f"oci:{path}", expect="decompression bomb")


# -- digests -------------------------------------------------------------------------------


def test_diff_id_mismatch_with_verify(bad, run_cli, tmp_path):
    spec = ImageSpec([L0, L1], config_extra={"rootfs": {"type": "layers", "diff_ids": [sha(L0), sha(b"lie")]}})
    path = spec.docker_archive(str(tmp_path / "lying.tar"))
    assert run_cli("inspect", "--json", path).code == 0  # not hashed without --verify
    bad("--verify", path, expect="diff_id mismatch in layer 1")


def test_verify_is_not_answered_from_the_layer_cache(run_cli, tmp_path):
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    good = ImageSpec([L0, L1]).docker_archive(str(tmp_path / "good.tar"))
    assert run_cli("inspect", "--verify", good, env=env).code == 0
    # Same config (so the same diff_ids), other bytes in layer 1.
    claims = {"rootfs": {"type": "layers", "diff_ids": [sha(L0), sha(L1)]}}
    liar = ImageSpec([L0, layer_tar([f("app/b", b"tampered!!")])], config_extra=claims)
    r = run_cli("inspect", "--verify", liar.docker_archive(str(tmp_path / "liar.tar")), env=env)
    assert r.code == 2 and "diff_id mismatch in layer 1" in r.err, r.err


def test_compressed_blob_tampered_in_an_oci_layout(bad, tmp_path):
    root = Path(SPEC.oci_dir(str(tmp_path / "oci")))
    manifest = _manifest(root)
    target = blob_path(root, manifest["layers"][1]["digest"])
    size = target.stat().st_size
    forged = gzip.compress(layer_tar([f("app/b", b"")]), mtime=0)  # valid gzip, other bytes
    # Padded with zeros (gzip readers skip them) to the size its descriptor says: only the digest differs.
    target.write_bytes(forged + bytes(size - len(forged)))
    bad(f"oci:{root}", expect="digest mismatch in layer 1")
    target.write_bytes(forged + bytes(size + 1 - len(forged)))  # a byte longer: its size is checked first
    bad(f"oci:{root}", expect=f"is {size + 1} bytes, its descriptor says {size}")


def test_tampered_manifest_and_config_blobs(bad, tmp_path):
    root = Path(SPEC.oci_dir(str(tmp_path / "oci")))
    manifest = _manifest(root)
    cfg = blob_path(root, manifest["config"]["digest"])
    cfg.write_bytes(cfg.read_bytes().replace(b"amd64", b"arm64"))
    bad(f"oci:{root}", expect="digest mismatch in image config")
    mpath = blob_path(root, json.loads((root / "index.json").read_text())["manifests"][0]["digest"])
    mpath.write_bytes(mpath.read_bytes() + b" ")
    bad(f"oci:{root}", expect="digest mismatch in manifest")


def _manifest(root: Path) -> dict:
    index = json.loads((root / "index.json").read_text())
    return json.loads(blob_path(root, index["manifests"][0]["digest"]).read_text())


# -- missing pieces ------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["layer", "config", "manifest"])
def test_manifest_naming_a_missing_blob(bad, tmp_path, which):
    root = Path(SPEC.oci_dir(str(tmp_path / "oci")))
    index = json.loads((root / "index.json").read_text())
    manifest = _manifest(root)
    digest = {
        "layer": manifest["layers"][0]["digest"],
        "config": manifest["config"]["digest"],
        "manifest": index["manifests"][0]["digest"],
    }[which]
    blob_path(root, digest).unlink()
    bad(str(root), expect=f"names blob {digest}, which is missing")


def test_manifest_json_naming_a_missing_layer(bad, tmp_path):
    members = [
        Member("cfg.json", SPEC.config_bytes()),
        Member("aaa/layer.tar", L0),
        Member(
            "manifest.json", json.dumps([{"Config": "cfg.json", "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]).encode()
        ),
    ]
    path = write_members(str(tmp_path / "img.tar"), members)
    bad(path, expect="names layer bbb/layer.tar, which is missing")


def test_manifest_json_naming_a_directory_as_a_layer(bad, tmp_path):
    path = tmp_path / "img.tar"
    with tarfile.open(path, "w") as t:
        for name, data in [("cfg.json", SPEC.config_bytes()), ("aaa/layer.tar", L0)]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        t.addfile(_dir("bbb"))
        m = b'[{"Config": "cfg.json", "Layers": ["aaa/layer.tar", "bbb"]}]'
        ti = tarfile.TarInfo("manifest.json")
        ti.size = len(m)
        t.addfile(ti, io.BytesIO(m))
    bad(str(path), expect="names layer bbb, which is missing")


def _dir(name: str) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    return ti


def test_layer_sources_that_are_not_an_object(run_cli, tmp_path):
    hexid = sha(L0).split(":")[1]
    entry_ = {"Config": "cfg.json", "Layers": [f"blobs/sha256/{hexid}"], "LayerSources": ["odd"]}
    members = [
        Member("cfg.json", ImageSpec([L0]).config_bytes()),
        Member(f"blobs/sha256/{hexid}", L0),
        Member("manifest.json", json.dumps([entry_]).encode()),
    ]
    r = run_cli("inspect", "--json", write_members(str(tmp_path / "img.tar"), members))
    assert r.code == 0, r.err


def test_manifest_json_naming_a_missing_config(bad, tmp_path):
    members = [
        Member("aaa/layer.tar", L0),
        Member("manifest.json", b'[{"Config": "c.json", "Layers": ["aaa/layer.tar"]}]'),
    ]
    bad(write_members(str(tmp_path / "img.tar"), members), expect="c.json is missing")


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("Layers", ["../outside/layer.tar"], "escapes the archive"),
        ("Layers", ["/etc/passwd"], "is absolute"),
        ("Config", "../../config.json", "escapes the archive"),
        ("Config", "/etc/hostname", "is absolute"),
        ("Layers", ["aaa/../../x.tar"], "escapes the archive"),
    ],
)
def test_unsafe_paths_in_manifest_json(bad, tmp_path, field, value, expect):
    entry_ = {"Config": "cfg.json", "Layers": ["aaa/layer.tar"], field: value}
    members = [
        Member("cfg.json", ImageSpec([L0]).config_bytes()),
        Member("aaa/layer.tar", L0),
        Member("manifest.json", json.dumps([entry_]).encode()),
    ]
    bad(write_members(str(tmp_path / "img.tar"), members), expect=expect)


def test_unsafe_paths_in_an_extracted_docker_save(bad, tmp_path):
    (tmp_path / "outside.json").write_bytes(SPEC.config_bytes())
    root = tmp_path / "save"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps([{"Config": "../outside.json", "Layers": []}]))
    bad(str(root), expect="escapes the archive")


def test_bad_manifest_json(bad, tmp_path):
    path = write_members(str(tmp_path / "img.tar"), [Member("manifest.json", b"{not json")])
    bad(path, expect="manifest.json")
    path = write_members(str(tmp_path / "img2.tar"), [Member("manifest.json", b"[]")])
    bad(path, expect="lists no images")


def test_diff_id_count_differs_from_layers(bad, tmp_path):
    spec = ImageSpec([L0, L1], config_extra={"rootfs": {"type": "layers", "diff_ids": [sha(L0)]}})
    bad(spec.docker_archive(str(tmp_path / "img.tar")), expect="1 diff_ids but the manifest 2 layers")


# -- unsupported documents -----------------------------------------------------------------


def test_unknown_layer_media_type(bad, tmp_path):
    def edit(m):
        m["layers"][1]["mediaType"] = "application/vnd.example.squashfs"

    path = single(SPEC, edit=edit).write_dir(str(tmp_path / "oci"))
    bad(path, expect="unsupported layer type 'application/vnd.example.squashfs'")


@pytest.mark.parametrize("entry_type", [None, "application/vnd.docker.distribution.manifest.v1+prettyjws"])
def test_schema1_manifest(bad, tmp_path, entry_type):
    lay = OciLayout()
    doc = {"schemaVersion": 1, "name": "library/old", "tag": "1", "architecture": "amd64", "fsLayers": []}
    desc = lay.add_blob(json.dumps(doc).encode())
    lay.entries.append({**({"mediaType": entry_type} if entry_type else {}), **desc})
    bad(lay.write_dir(str(tmp_path / "oci")), expect="schema 1")


def test_schema1_index_json(bad, tmp_path):
    root = tmp_path / "oci"
    root.mkdir()
    (root / "index.json").write_text(json.dumps({"schemaVersion": 1, "fsLayers": []}))
    bad(str(root), expect="schema 1")


def test_oci_artifact_is_not_an_image(bad, tmp_path):
    path = single(SPEC, config_type="application/vnd.cncf.helm.config.v1+json").write_dir(str(tmp_path / "oci"))
    bad(path, expect="is not a container image")


def test_config_that_is_not_an_image_config(bad, tmp_path):
    spec = ImageSpec([L0], config_extra={"rootfs": {"type": "snapshots"}})
    bad(spec.oci_archive(str(tmp_path / "o.tar")), expect="not a container image config")
    path = write_members(
        str(tmp_path / "img.tar"),
        [Member("c.json", b'["a list"]'), Member("manifest.json", b'[{"Config": "c.json", "Layers": []}]')],
    )
    bad(path, expect="image config is not a JSON object")


# -- symlinks ------------------------------------------------------------------------------


def test_symlink_loop_between_layer_tars(bad, tmp_path):
    members = [
        Member("cfg.json", ImageSpec([L0]).config_bytes()),
        Member("aaa/layer.tar", symlink="../bbb/layer.tar"),
        Member("bbb/layer.tar", symlink="../aaa/layer.tar"),
        Member("manifest.json", b'[{"Config": "cfg.json", "Layers": ["aaa/layer.tar"]}]'),
    ]
    bad(write_members(str(tmp_path / "loop.tar"), members), expect="symlink loop")


def test_symlink_out_of_the_archive(bad, tmp_path):
    members = [
        Member("cfg.json", ImageSpec([L0]).config_bytes()),
        Member("aaa/layer.tar", symlink="../../../etc/passwd"),
        Member("manifest.json", b'[{"Config": "cfg.json", "Layers": ["aaa/layer.tar"]}]'),
    ]
    bad(write_members(str(tmp_path / "out.tar"), members), expect="escapes the archive")


def test_self_referencing_blob_symlink_in_an_oci_dir(bad, tmp_path):
    root = Path(SPEC.oci_dir(str(tmp_path / "oci")))
    target = blob_path(root, _manifest(root)["layers"][0]["digest"])
    target.unlink()
    os.symlink(target.name, target)
    bad(f"oci:{root}", expect="symlink loop")


def test_symlink_loop_docker_save_in_a_directory(bad, tmp_path):
    root = tmp_path / "save"
    (root / "aaa").mkdir(parents=True)
    (root / "cfg.json").write_bytes(ImageSpec([L0]).config_bytes())
    os.symlink("layer.tar", root / "aaa" / "layer.tar")
    (root / "manifest.json").write_text('[{"Config": "cfg.json", "Layers": ["aaa/layer.tar"]}]')
    bad(str(root), expect="symlink loop")


# -- platforms -----------------------------------------------------------------------------


def test_unknown_platform_on_a_multi_platform_index(bad, tmp_path):
    specs = [ImageSpec([L0], architecture="arm64"), ImageSpec([L0, L1], architecture="amd64")]
    path = multi_platform(specs).write_dir(str(tmp_path / "oci"))
    line = bad("--platform", "linux/s390x", path, expect="no manifest for platform linux/s390x")
    assert "linux/arm64, linux/amd64" in line
    bad("--platform", "not-a-platform", path, expect="bad platform")


def test_unknown_tag(bad, tmp_path):
    path = single(SPEC).write_dir(str(tmp_path / "oci"))
    bad(f"oci:{path}:nope", expect="no image tagged 'nope'")
    archive = docker_archive(str(tmp_path / "a.tar"), [(SPEC, ["x/y:1"])])
    bad(f"docker-archive:{archive}:x/y:2", expect="no image 'x/y:2'")


# -- --debug -------------------------------------------------------------------------------


def test_debug_shows_the_traceback(run_cli, tmp_path):
    path = tmp_path / "random.tar"
    path.write_bytes(random.Random(2).randbytes(3000))
    r = run_cli("--debug", "inspect", str(path))
    assert r.code != 0 and "Traceback (most recent call last)" in r.err
    assert "FormatError" in r.err and "not an image archive" in r.err
    r = run_cli("inspect", str(tmp_path / "missing.tar"), "--debug")
    assert "Traceback" in r.err and "BadReferenceError" in r.err


def test_good_input_still_works(run_cli, tmp_path):
    # The fixtures above differ from a good image only where they are broken.
    path = SPEC.docker_archive(str(tmp_path / "ok.tar"))
    r = run_cli("inspect", "--verify", "--json", path)
    assert r.code == 0 and r.err == "" and json.loads(r.out)["totals"]["final_size"] == 110
    lay = single(SPEC)
    assert run_cli("inspect", lay.write_dir(str(tmp_path / "oci"))).code == 0
    with tarfile.open(path) as t:
        assert "manifest.json" in t.getnames()
