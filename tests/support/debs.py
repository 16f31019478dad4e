"""A real dpkg database for tests: packages built by dpkg-deb, installed, upgraded, removed
and diverted by the host's dpkg into a directory root (no chroot, no maintainer scripts).

The packages' contents are ours; the status file, `info/*.list` and `diversions` are what
dpkg itself writes. A merged-/usr root (`bin -> usr/bin`, `lib -> usr/lib`) makes dpkg
record `/bin/x` for files stored at `usr/bin/x`, as on Debian 12.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def available() -> bool:
    return all(shutil.which(t) for t in ("dpkg", "dpkg-deb", "dpkg-divert"))


def _run(*args: str) -> None:
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")


def build_deb(
    out: Path,
    name: str,
    version: str,
    files: dict[str, bytes],
    links: dict[str, str] | None = None,
    control: str = "",
) -> Path:
    """A .deb whose data holds `files` (and hardlinks: new name -> existing name);
    `control` adds fields to its control file (`Depends: a | b\n`)."""
    stage = out / f"{name}_{version}"
    (stage / "DEBIAN").mkdir(parents=True)
    head = f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: t\n"
    (stage / "DEBIAN" / "control").write_text(head + control)
    for rel, data in files.items():
        target = stage / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for new, old in (links or {}).items():
        target = stage / new.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.hardlink_to(stage / old.lstrip("/"))
    deb = out / f"{name}_{version}_all.deb"
    _run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(stage), str(deb))
    return deb


@dataclass
class DpkgRoot:
    path: Path

    @classmethod
    def create(cls, path: Path, merged_usr: bool = True) -> DpkgRoot:
        for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "usr/bin", "usr/lib"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        (path / "var/lib/dpkg/status").touch()
        if merged_usr:
            (path / "bin").symlink_to("usr/bin")
            (path / "lib").symlink_to("usr/lib")
        return cls(path)

    def _dpkg(self, *args: str) -> None:
        _run("dpkg", f"--root={self.path}", "--force-not-root", "--force-script-chrootless", "--log=/dev/null", *args)

    def install(self, *debs: Path) -> None:
        self._dpkg("-i", *map(str, debs))

    def remove(self, name: str) -> None:
        self._dpkg("--purge", name)

    def divert(self, path: str, to: str, package: str) -> None:
        _run("dpkg-divert", f"--root={self.path}", "--package", package, "--divert", to, "--rename", "--add", path)
