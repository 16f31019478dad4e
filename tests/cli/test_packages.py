"""`layerscope packages`: the JSON contract, text, saved analyses, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar, wh
from tests.support.pyinstall import Venv, layer_entries, snapshot

CONTRACT_PACKAGE = {
    "name",
    "version",
    "ecosystem",
    "size",
    "files",
    "layer",
    "layers",
    "location",
    "dead_bytes",
    "category",
}
CATEGORIES = [
    "python-packages",
    "os-packages",
    "app",
    "package-caches",
    "bytecode",
    "tests-and-docs",
    "build-toolchains",
    "accelerator-libraries",
    "model-weights",
    "other",
]


@pytest.fixture(scope="module")
def venv_archive(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("cli")
    v = Venv.create(tmp / "venv")
    s0 = snapshot(v.path)
    v.install(wheels["demo1"], wheels["solo"])
    s1 = snapshot(v.path)
    v.install(wheels["demo2"])
    s2 = snapshot(v.path)
    layers = [layer_tar(layer_entries(s0, "opt/venv")), layer_tar(layer_entries(s1, "opt/venv", s0))]
    cache = [d("root"), d("root/.cache"), d("root/.cache/pip"), f("root/.cache/pip/x", b"c" * 4000)]
    layers += [layer_tar(layer_entries(s2, "opt/venv", s1) + cache), layer_tar([wh("root/.cache/pip/x")])]
    return ImageSpec(layers).docker_archive(str(tmp / "img.tar"))


def test_json_has_the_contract_fields(venv_archive: str, run_cli) -> None:
    r = run_cli("packages", "--json", venv_archive)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "layerscope.packages/1"
    assert doc["reference"] == venv_archive and doc["source"] == "docker-archive"
    pkgs = {p["name"]: p for p in doc["packages"]}
    assert set(pkgs) == {"Demo-Pkg", "solo"}
    for p in pkgs.values():
        assert set(p) >= CONTRACT_PACKAGE
        assert all(isinstance(k, str) and int(k) >= 0 for k in p["layers"])
        assert sum(p["layers"].values()) == p["size"]
    demo = pkgs["Demo-Pkg"]
    assert (demo["version"], demo["ecosystem"], demo["layer"], demo["category"]) == (
        "2.0",
        "python",
        2,
        "python-packages",
    )
    assert demo["location"] == "/opt/venv/lib/python3.11/site-packages"
    assert demo["dead_bytes"] > 0 and list(demo["layers"]) == ["2"]
    assert [c["name"] for c in doc["categories"]] == CATEGORIES
    assert all(set(c) == {"name", "bytes", "paths"} for c in doc["categories"])
    assert sum(c["bytes"] for c in doc["categories"]) == doc["final_size"]
    assert isinstance(doc["unattributed"], dict) and set(doc["unattributed"]) == {"/opt"}
    assert all({"what", "bytes", "how", "evidence"} <= set(s) for s in doc["savings"])
    assert [r["version"] for r in doc["removed"]] == ["1.0"] and doc["removed"][0]["replaced_by"] == "2.0"
    # the pip cache was deleted in L3: waste, but not a package's
    assert {c["name"]: c["bytes"] for c in doc["categories"]}["package-caches"] == 0


def test_text_output(venv_archive: str, run_cli) -> None:
    r = run_cli("packages", venv_archive)
    assert r.code == 0, r.err
    assert "Packages   2 python:" in r.out
    assert "Demo-Pkg" in r.out and "python:Demo-Pkg 1.0 -> 2.0" in r.out
    assert "superseded package versions" in r.out


def test_saved_analysis_gives_the_same_packages(venv_archive: str, tmp_path: Path, run_cli) -> None:
    saved = tmp_path / "a.json"
    r1 = run_cli("packages", "--json", "--save", str(saved), venv_archive)
    assert r1.code == 0, r1.err
    r2 = run_cli("packages", "--json", f"analysis:{saved}")
    assert r2.code == 0, r2.err
    one, two = json.loads(r1.out), json.loads(r2.out)
    assert one == two
    # an analysis saved before packages existed is computed again from its layer records
    doc = json.loads(saved.read_text())
    doc.pop("packages")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    r3 = run_cli("packages", "--json", f"analysis:{old}")
    assert r3.code == 0, r3.err
    assert json.loads(r3.out)["packages"] == one["packages"]
    # inspect --save carries packages too
    r4 = run_cli("inspect", "--save", str(tmp_path / "i.json"), venv_archive)
    assert r4.code == 0 and json.loads((tmp_path / "i.json").read_text())["packages"]["packages"]


def test_manifest_only_has_null_package_figures(venv_archive: str, run_cli) -> None:
    r = run_cli("packages", "--json", "--manifest-only", venv_archive)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["packages"] is None and any("manifest-only" in n for n in doc["notes"])


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, run_cli) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    r = run_cli("packages", str(junk))
    assert r.code == 2 and r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_damaged_metadata_inside_an_image_is_a_note(tmp_path: Path, run_cli) -> None:
    site = "usr/lib/python3/site-packages"
    entries = [d("usr"), d("usr/lib"), d("usr/lib/python3"), d(site), d(f"{site}/bad-1.0.dist-info")]
    entries += [f(f"{site}/bad-1.0.dist-info/METADATA", b"Name: bad\nVersion: 1.0\n")]
    entries += [f(f"{site}/bad-1.0.dist-info/RECORD", b'bad/x.py,,1\n"unterminated\n\x00\x00,a\nmissing/file.py,,9\n')]
    entries += [d("var"), d("var/lib"), d("var/lib/dpkg"), f("var/lib/dpkg/status", b"\xff\xfe garbage\n\n\n:::\n")]
    path = ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "bad.tar"))
    r = run_cli("packages", "--json", path)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [(p["name"], p["version"]) for p in doc["packages"]] == [("bad", "1.0")]
    assert any("RECORD" in n and "malformed" in n for n in doc["notes"])
    assert any("/var/lib/dpkg/status" in n and "malformed" in n for n in doc["notes"])


SAMPLE_PIP = "sample_images/pip.docker.tar"  # relative to the repository, where run_cli runs


def test_every_package_of_a_sample_image_has_its_purl(run_cli) -> None:
    """`packages --json` on a committed sample image: pip's dists, each its pkg:pypi purl
    (an addition to the contract: docs/contract-extensions.md)."""
    r = run_cli("packages", "--json", SAMPLE_PIP)
    assert r.code == 0, r.err
    purls = {p["name"]: p["purl"] for p in json.loads(r.out)["packages"]}
    assert purls == {
        "charset-normalizer": "pkg:pypi/charset-normalizer@3.4.0",
        "urllib3": "pkg:pypi/urllib3@2.2.3",  # upgraded from 1.26.20: the version present now
        "idna": "pkg:pypi/idna@3.10",
        "certifi": "pkg:pypi/certifi@2024.8.30",
        "requests": "pkg:pypi/requests@2.32.3",
    }


def test_purl_column_is_asked_for(run_cli) -> None:
    plain = run_cli("packages", SAMPLE_PIP)
    assert plain.code == 0 and "pkg:pypi/" not in plain.out  # a purl is as long as the row: only on request
    r = run_cli("packages", "--purl", SAMPLE_PIP)
    assert r.code == 0, r.err
    head = next(line for line in r.out.splitlines() if line.lstrip().startswith("Size"))
    assert head.endswith("Category               Package URL")
    row = next(line for line in r.out.splitlines() if " idna " in line)
    assert row.split()[-2:] == ["python-packages", "pkg:pypi/idna@3.10"]


def test_an_analysis_saved_before_purls_has_none(venv_archive: str, tmp_path: Path, run_cli) -> None:
    saved = tmp_path / "a.json"
    assert run_cli("packages", "--json", "--save", str(saved), venv_archive).code == 0
    doc = json.loads(saved.read_text())
    assert {p["purl"] for p in doc["packages"]["packages"]} == {"pkg:pypi/demo-pkg@2.0", "pkg:pypi/solo@0.5"}
    for p in doc["packages"]["packages"]:
        del p["purl"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    r = run_cli("packages", "--json", f"analysis:{old}")
    assert r.code == 0, r.err
    assert [p["purl"] for p in json.loads(r.out)["packages"]] == [None, None]


def test_hostile_database_text_is_percent_encoded_and_escaped(tmp_path: Path, run_cli) -> None:
    """A dpkg name and an os-release ID with an ANSI escape, `/`, `?` and `#`: the purl keeps
    them inside their components, encoded; the text output escapes the name as every other."""
    status = b"Package: evil\x1b[31m/x?y#z\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n"
    release = b'ID="debian\x1b]0;t\x07/../x"\nID_LIKE=debian\nVERSION_ID=12\n'
    entries = [d("var"), d("var/lib"), d("var/lib/dpkg"), f("var/lib/dpkg/status", status)]
    entries += [d("etc"), f("etc/os-release", release)]
    path = ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "evil.tar"))
    r = run_cli("packages", "--json", path)
    assert r.code == 0, r.err
    (pkg,) = json.loads(r.out)["packages"]
    assert pkg["purl"] == (
        "pkg:deb/debian%1B%5D0%3Bt%07%2F..%2Fx/evil%1B%5B31m%2Fx%3Fy%23z@1.0"
        "?arch=amd64&distro=debian%1B%5D0%3Bt%07%2F..%2Fx-12"
    )
    text = run_cli("packages", "--purl", path)
    assert text.code == 0, text.err
    assert "\x1b" not in text.out and "\x07" not in text.out
    assert pkg["purl"] in text.out
