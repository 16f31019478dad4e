"""--platform through the real CLI on multi-platform images built here: an OCI layout, an
oci-archive and a containerd-store `docker save` (manifest.json beside an OCI index).

The index has what containerd's matcher must cope with: windows listed first, arm/v6 only,
arm64 without a variant, amd64 only at levels v2 and v3 (docs/image-formats.md §7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layerscope.sources.platforms import host
from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.layouts import REF_NAME, Member, OciLayout, write_members

# (index entry's platform, config fields); the label says which image was read.
ENTRIES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5329"}, {"os": "windows"}),
    ({"os": "linux", "architecture": "arm", "variant": "v6"}, {"architecture": "arm", "variant": "v6"}),
    ({"os": "linux", "architecture": "arm64"}, {"architecture": "arm64", "variant": "v8"}),
    ({"os": "linux", "architecture": "amd64", "variant": "v2"}, {"variant": "v2"}),
    ({"os": "linux", "architecture": "amd64", "variant": "v3"}, {"variant": "v3"}),
]
PLAIN_AMD64: tuple[dict[str, Any], dict[str, str]] = ({"os": "linux", "architecture": "amd64"}, {})
LISTED = "(it has: windows/amd64, linux/arm/v6, linux/arm64, linux/amd64/v2, linux/amd64/v3)"


def name(plat: dict[str, Any]) -> str:
    return "/".join(str(plat[k]) for k in ("os", "architecture", "variant") if k in plat)


def build(entries: list[tuple[dict[str, Any], dict[str, str]]]) -> tuple[OciLayout, dict[str, dict[str, Any]]]:
    """A layout whose index.json holds one nested index (as containerd saves) over `entries`;
    also returns each platform's manifest, by its name."""
    lay = OciLayout()
    descs, manifests = [], {}
    for plat, config in entries:
        marker = name(plat).replace("/", "-")  # the image's contents, hence digest, follow its platform
        spec = ImageSpec([layer_tar([d("app"), f(f"app/{marker}", marker)])], architecture="amd64")
        spec.os = config.get("os", "linux")
        spec.config_extra = dict(config)
        desc = {**lay.add_image(spec), "platform": plat}
        descs.append(desc)
        manifests[name(plat)] = {**json.loads(lay.blobs[desc["digest"]]), "digest": desc["digest"]}
        descs.append(lay.attestation_for(desc))
    lay.entries = [lay.nested_index(descs, **{REF_NAME: "1", "io.containerd.image.name": "example.test/multi:1"})]
    return lay, manifests


def docker_save(lay: OciLayout, manifest: dict[str, Any], path: str) -> str:
    """A containerd-store `docker save` (Docker 25+): manifest.json names one platform."""
    blob = "blobs/sha256/{}".format
    entry = {
        "Config": blob(manifest["config"]["digest"].split(":")[1]),
        "RepoTags": ["example.test/multi:1"],
        "Layers": [blob(x["digest"].split(":")[1]) for x in manifest["layers"]],
    }
    return write_members(path, [*lay.members(), Member("manifest.json", json.dumps([entry]).encode())])


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("platforms")
    lay, manifests = build(ENTRIES)
    return {
        "oci": "oci:" + lay.write_dir(str(tmp / "layout")),
        "oci-archive": "oci-archive:" + lay.write_archive(str(tmp / "multi.oci.tar")),
        "docker-archive": "docker-archive:" + docker_save(lay, manifests["linux/amd64/v2"], str(tmp / "save.tar")),
    }


KINDS = ["oci", "oci-archive", "docker-archive"]


def inspect(run_cli: Any, ref: str, *platform: str) -> tuple[dict[str, Any], str]:
    r = run_cli("inspect", "--json", "--manifest-only", *(("--platform", platform[0]) if platform else ()), ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    which = {m["digest"]: plat for plat, m in build([*ENTRIES, PLAIN_AMD64])[1].items()}
    return doc, which[doc["digest"]]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("asked", "chosen", "noted"),
    [
        ("linux/arm/v7", "linux/arm/v6", True),  # containerd: v7, then v6, then v5
        ("linux/arm", "linux/arm/v6", True),  # arm without a variant is v7
        ("linux/armhf", "linux/arm/v6", True),
        ("linux/arm/v6", "linux/arm/v6", False),
        ("linux/arm64", "linux/arm64", False),
        ("linux/arm64/v8", "linux/arm64", False),
        ("linux/aarch64", "linux/arm64", False),
        ("linux/amd64/v3", "linux/amd64/v3", False),
        ("linux/amd64/v4", "linux/amd64/v3", True),  # the best level below
        ("linux/x86_64/v2", "linux/amd64/v2", False),
        ("linux/amd64", "linux/amd64/v2", True),  # no level asked: the lowest (past containerd), said so
        ("windows/amd64", "windows/amd64", False),
        ("windows(10.0.17763)/amd64", "windows/amd64", False),
    ],
)
def test_the_containerd_choice(
    sources: dict[str, str], kind: str, asked: str, chosen: str, noted: bool, run_cli: Any
) -> None:
    doc, which = inspect(run_cli, sources[kind], asked)
    assert which == chosen
    assert doc["platform"] == chosen  # the output says which platform was read
    said = [n for n in doc.get("notes", []) if f"chose {chosen}" in n]
    assert bool(said) == noted, doc.get("notes")
    if noted:
        assert LISTED in said[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("asked", ["linux/arm/v5", "linux/riscv64", "linux/386", "windows(10.0.20348)/amd64"])
def test_nothing_matches_is_one_line_and_exit_2(sources: dict[str, str], kind: str, asked: str, run_cli: Any) -> None:
    r = run_cli("inspect", "--manifest-only", "--platform", asked, sources[kind])
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert "no manifest for platform " in r.err and LISTED in r.err
    assert "Traceback" not in r.err and "unknown" not in r.err  # attestations are not platforms


@pytest.mark.parametrize("kind", KINDS)
def test_the_default_is_this_hosts_platform(sources: dict[str, str], kind: str, run_cli: Any) -> None:
    doc, which = inspect(run_cli, sources[kind])
    expected = {"amd64": "linux/amd64/v2", "arm64": "linux/arm64"}.get(host().architecture)
    if expected is None:
        pytest.skip(f"no entry written for a {host()} host")
    assert which == expected and doc["platform"] == expected


def test_the_default_when_the_host_is_not_in_the_index(tmp_path: Path, run_cli: Any) -> None:
    others = [e for e in ENTRIES if host().architecture not in name(e[0]) and e[0]["os"] == "linux"]
    lay, _ = build(others)
    ref = "oci:" + lay.write_dir(str(tmp_path / "layout"))
    r = run_cli("inspect", "--manifest-only", ref)
    if host().architecture in ("arm", "arm64"):
        assert r.code == 0, r.err  # an arm64 host runs arm/v6 (containerd's vector)
        return
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"no manifest for this host's platform {host()}" in r.err and "choose one with --platform" in r.err
    # one image for another platform: read, and the output says whose it is
    lay, _ = build(others[:1])
    doc, which = inspect(run_cli, "oci:" + lay.write_dir(str(tmp_path / "one")))
    assert which == name(others[0][0])
    assert any(f"the image is for {which}, not this host" in n for n in doc["notes"])


def test_windows_first_in_the_index_is_never_chosen_for_linux(tmp_path: Path, run_cli: Any) -> None:
    lay, _ = build([ENTRIES[0], PLAIN_AMD64])
    ref = "oci-archive:" + lay.write_archive(str(tmp_path / "mixed.tar"))
    for asked in ("linux/amd64", "linux/amd64/v3"):
        assert inspect(run_cli, ref, asked)[1] == "linux/amd64"
