"""Python attribution on images whose layers hold real pip installs into a venv:
console scripts, bytecode compiled after install, namespace packages, an upgrade and an
uninstall in later layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from layerscope.api import analyze
from layerscope.model import Analysis
from tests.support.factory import ImageSpec, layer_tar
from tests.support.pyinstall import SITE, Snapshot, Venv, layer_entries, snapshot

PREFIX = "opt/venv"


@pytest.fixture(scope="module")
def venv_image(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, list[Snapshot]]:
    """L0 venv, L1 pip install (no compile), L2 compileall, L3 upgrade demo, L4 uninstall solo."""
    tmp = tmp_path_factory.mktemp("venvimg")
    v = Venv.create(tmp / "venv")
    states = [snapshot(v.path)]
    v.install(wheels["demo1"], wheels["acme_a"], wheels["acme_b"], wheels["solo"], compile=False)
    states.append(snapshot(v.path))
    v.compileall()
    states.append(snapshot(v.path))
    v.install(wheels["demo2"])
    states.append(snapshot(v.path))
    v.uninstall("solo")
    states.append(snapshot(v.path))
    layers = [layer_tar(layer_entries(states[0], PREFIX))]
    layers += [layer_tar(layer_entries(after, PREFIX, before)) for before, after in pairwise(states)]
    path = ImageSpec(layers).docker_archive(str(tmp / "img.tar"))
    return analyze(path), states


def _bytes(state: Snapshot, pred) -> tuple[int, int]:
    """(bytes, files) of the regular files of a venv state that `pred(rel path)` selects."""
    sizes = [len(v[1]) for p, v in state.items() if v[0] == "file" and pred(p)]
    return sum(sizes), len(sizes)


def _demo(p: str, version: str) -> bool:
    return p.startswith((f"{SITE}/demo/", f"{SITE}/Demo_Pkg-{version}.dist-info/")) or p == "bin/demo-cli"


def test_versions_and_installing_layers(venv_image) -> None:
    a, _ = venv_image
    by = {p.name: p for p in a.packages.packages}
    assert {n: (p.version, p.layer, p.ecosystem) for n, p in by.items()} == {
        "Demo-Pkg": ("2.0", 3, "python"),
        "acme-a": ("1.0", 1, "python"),
        "acme-b": ("3.1", 1, "python"),
    }
    assert all(p.location == f"/{PREFIX}/{SITE}" for p in by.values())


def test_sizes_are_what_the_installed_files_occupy(venv_image) -> None:
    a, states = venv_image
    by = {p.name: p for p in a.packages.packages}
    final = states[-1]
    # Demo-Pkg 2.0: its package dir (pyc pip compiled included), dist-info and console script
    assert (by["Demo-Pkg"].size, by["Demo-Pkg"].files) == _bytes(final, lambda p: _demo(p, "2.0"))
    assert by["Demo-Pkg"].layers == ((3, by["Demo-Pkg"].size),)
    # acme-a: RECORD lists no pyc (installed with --no-compile); compileall's pyc still count, in layer 2
    pyc_a, _ = _bytes(final, lambda p: p.startswith(f"{SITE}/acme/a/__pycache__/"))
    total_a = _bytes(final, lambda p: p.startswith((f"{SITE}/acme/a/", f"{SITE}/acme_a-1.0.dist-info/")))
    assert pyc_a > 0
    assert (by["acme-a"].size, by["acme-a"].files) == total_a
    assert dict(by["acme-a"].layers) == {1: total_a[0] - pyc_a, 2: pyc_a}
    # owned through the .py files RECORD lists, not by RECORD itself: inferred, and said so
    assert by["acme-a"].inferred_bytes == pyc_a
    (note,) = by["acme-a"].notes
    assert "bytecode compiled from .py files its file list names" in note
    assert by["Demo-Pkg"].inferred_bytes == 0 and by["Demo-Pkg"].notes == ()  # pip listed its pyc in RECORD


def test_namespace_package_pyc_go_to_the_dist_of_their_source(venv_image) -> None:
    a, states = venv_image
    by = {p.name: p for p in a.packages.packages}
    total_b = _bytes(states[-1], lambda p: p.startswith((f"{SITE}/acme/b/", f"{SITE}/acme_b-3.1.dist-info/")))
    assert (by["acme-b"].size, by["acme-b"].files) == total_b


def test_upgrade_and_uninstall_leave_dead_bytes_per_version(venv_image) -> None:
    a, states = venv_image
    r = a.packages
    # Everything Demo-Pkg 1.0 had before the upgrade (its pyc compiled in L2 included) is hidden by L3
    dead_v1, _ = _bytes(states[2], lambda p: _demo(p, "1.0"))
    removed = {(x.name, x.version): x for x in r.removed}
    v1 = removed[("Demo-Pkg", "1.0")]
    assert (v1.dead_bytes, v1.layer, v1.hidden_by, v1.replaced_by) == (dead_v1, 1, (3,), "2.0")
    demo = next(p for p in r.packages if p.name == "Demo-Pkg")
    assert demo.dead_bytes == dead_v1
    solo_dead, _ = _bytes(states[3], lambda p: p.startswith((f"{SITE}/solo", f"{SITE}/__pycache__/solo.")))
    solo = removed[("solo", "0.5")]
    assert (solo.dead_bytes, solo.layer, solo.hidden_by, solo.replaced_by) == (solo_dead, 1, (4,), None)
    superseded = next(s for s in r.savings if s.what == "superseded package versions")
    assert superseded.bytes == dead_v1 + solo_dead
    assert any("Demo-Pkg 1.0 -> 2.0" in e for e in superseded.evidence)


def test_every_final_byte_is_counted_once(venv_image) -> None:
    a, states = venv_image
    r = a.packages
    owned = sum(p.size for p in r.packages)
    assert owned + sum(b for _, b in r.unattributed) == a.totals.final_size
    assert sum(c.bytes for c in r.categories) == a.totals.final_size
    assert dict(r.unattributed) == {"/opt": a.totals.final_size - owned}
    cats = {c.name: c for c in r.categories}
    assert cats["bytecode"].bytes == _bytes(states[-1], lambda p: p.endswith(".pyc"))[0]
    assert cats["python-packages"].bytes == owned - cats["bytecode"].bytes
    assert cats["tests-and-docs"].bytes == 0  # 1.0's tests/ went away with the upgrade


def test_an_editable_install_owns_its_project_directory(tmp_path: Path) -> None:
    """`pip install -e DIR` (pip and setuptools here, for real) leaves only a .pth file in
    site-packages; the code stays in DIR, which the dist is then taken to own (inferred)."""
    project = tmp_path / "app"
    (project / "src" / "greet").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "greet"\nversion = "0.3.1"\n[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    (project / "src" / "greet" / "__init__.py").write_text("def hi():\n    return 'hi'\n" + "#" * 3000 + "\n")
    root = tmp_path / "root"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-e", str(project), "--prefix", str(root / "usr/local")],
        check=True, capture_output=True,
    )  # fmt: skip
    for leftover in project.glob("src/*.egg-info"):  # setuptools' build metadata, not part of the app
        shutil.rmtree(leftover)
    image_dir = str(project).lstrip("/")
    layers = [layer_tar(layer_entries(snapshot(root), "")), layer_tar(layer_entries(snapshot(project), image_dir))]
    a = analyze(ImageSpec(layers).docker_archive(str(tmp_path / "img.tar")))
    (greet,) = [p for p in a.packages.packages if p.name == "greet"]
    code = (project / "src/greet/__init__.py").stat().st_size + (project / "pyproject.toml").stat().st_size
    assert greet.version == "0.3.1" and greet.ecosystem == "python"
    assert greet.inferred_bytes == code  # the project's files: owned by inference, and said so
    assert len(greet.notes) == 1 and f"project directory /{image_dir}" in greet.notes[0]
    assert greet.size == code + sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert "/" + image_dir.split("/")[0] not in dict(a.packages.unattributed)
