"""Real Debian images for the slow tier: a debootstrap minbase imported into the test engine,
and images built on it, kept between runs in pytest's cache directory (`.pytest_cache/d/`,
inside the repository) so a second run needs no mirror and no rebuild.

Nothing here is ever committed: the rootfs names the apt mirror (docs/environment.md §5).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MINBASE = "local/debian-clean:bookworm"
# What the official debian images add: apt deletes downloaded .debs after installing.
DOCKER_CLEAN = (
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };\n'
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };\n'
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
)


def run(cmd: list[str], env: dict[str, str], **kw: object) -> str:
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, **kw)  # type: ignore[call-overload]
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return str(p.stdout)


def mirror() -> str:
    return next(
        line.split()[1]
        for line in Path("/etc/apt/sources.list.d/debian.sources").read_text().splitlines()
        if line.startswith("URIs:")
    )


def minbase_tar(cache: Path, env: dict[str, str]) -> Path:
    """A tar of a debootstrap --variant=minbase bookworm rootfs (apt lists and archives
    emptied, the official images' docker-clean apt setting), made once and kept in `cache`."""
    out = cache / "debian-clean-bookworm.tar"
    if out.is_file():
        return out
    rootfs = cache / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror()], env)
    run(["chroot", str(rootfs), "apt-get", "clean"], env)
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
    (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(DOCKER_CLEAN)
    partial = out.with_suffix(".part")
    run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], env)
    partial.rename(out)
    shutil.rmtree(rootfs, ignore_errors=True)
    return out


def import_minbase(docker: str, env: dict[str, str], tar: Path) -> None:
    with tar.open("rb") as f:
        subprocess.run([docker, "import", "-", MINBASE], stdin=f, env=env, check=True, capture_output=True)
