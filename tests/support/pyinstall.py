"""Real Python installs for package tests: local projects built into wheels by pip
(setuptools, no network), installed by pip into venvs, and directory snapshots turned
into layer entries the way an overlay builder records a step (changed files plus
whiteouts for what the step deleted).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.factory import Entry, d, f, hard, sym, wh

PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
SITE = f"lib/{PY}/site-packages"


def _run(*args: str, cwd: Path | None = None) -> None:
    p = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")


def write_project(
    root: Path,
    name: str,
    version: str,
    files: dict[str, str],
    packages: list[str],
    scripts: dict[str, str] | None = None,
    py_modules: list[str] | None = None,
) -> Path:
    """A setuptools project: pyproject.toml plus its sources."""
    proj = root / f"{name}-{version}"
    proj.mkdir(parents=True)
    lines = [
        "[build-system]",
        'requires = ["setuptools"]',
        'build-backend = "setuptools.build_meta"',
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
    ]
    if scripts:
        lines.append("[project.scripts]")
        lines += [f'{k} = "{v}"' for k, v in scripts.items()]
    lines += ["[tool.setuptools]", f"packages = {packages!r}".replace("'", '"')]
    if py_modules:
        lines.append(f"py-modules = {py_modules!r}".replace("'", '"'))
    (proj / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for rel, text in files.items():
        target = proj / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return proj


def build_wheels(projects: list[Path], out: Path) -> list[Path]:
    """One pip wheel run with the host's setuptools (+ wheel): real wheels, offline.

    Projects must have distinct names (pip refuses two versions of one name in a run)."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    args = ["wheel", "-q", "--no-index", "--no-deps", "--no-build-isolation", "-w", str(out)]
    _run(sys.executable, "-m", "pip", *args, *map(str, projects))
    new = set(out.iterdir()) - before

    def stem(name: str, version: str) -> str:  # how a wheel file name starts
        return f"{name.replace('-', '_').lower()}-{version}"

    by_stem = {"-".join(w.name.split("-")[:2]).lower(): w for w in new}
    return [by_stem[stem(*p.name.rsplit("-", 1))] for p in projects]


@dataclass
class Venv:
    path: Path

    @classmethod
    def create(cls, path: Path) -> Venv:
        _run(sys.executable, "-m", "venv", "--without-pip", str(path))
        return cls(path)

    def pip(self, *args: str) -> None:
        """Host pip acting on this venv's interpreter (pip --python)."""
        _run(sys.executable, "-m", "pip", "--python", str(self.path / "bin" / "python"), "-q", *args)

    def install(self, *wheels: Path, compile: bool = True) -> None:
        self.pip("install", "--no-index", "--no-deps", *([] if compile else ["--no-compile"]), *map(str, wheels))

    def uninstall(self, name: str) -> None:
        self.pip("uninstall", "-y", name)

    def compileall(self) -> None:
        _run(str(self.path / "bin" / "python"), "-m", "compileall", "-q", str(self.path / SITE))


# rel path -> (kind, data or link target, mode, (inode, mtime_ns)): a file pip deleted and
# wrote again is a new file in the step's layer even when its bytes are the same.
Snapshot = dict[str, tuple[str, bytes | str, int, tuple[int, int]]]


def snapshot(root: Path) -> Snapshot:
    """Every path below root; a second name of a hardlinked file is kind "hard" (its first
    name as data), as tar writes it."""
    out: Snapshot = {}
    first_name: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            stamp = (st.st_ino, st.st_mtime_ns)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(full), 0o777, stamp)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", b"", stat.S_IMODE(st.st_mode), (0, 0))  # a dir's own change is not content
            elif stat.S_ISREG(st.st_mode):
                ino = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and ino in first_name:
                    out[rel] = ("hard", first_name[ino], stat.S_IMODE(st.st_mode), stamp)
                    continue
                first_name[ino] = rel
                out[rel] = ("file", full.read_bytes(), stat.S_IMODE(st.st_mode), stamp)
    return out


def _entry(path: str, item: tuple[str, bytes | str, int, tuple[int, int]], prefix: str) -> Entry:
    kind, data, mode, _ = item
    if kind == "hard":
        assert isinstance(data, str)
        return hard(path, f"{prefix}/{data}" if prefix else data)
    if kind == "dir":
        return d(path, mode)
    if kind == "link":
        assert isinstance(data, str)
        return sym(path, data)
    assert isinstance(data, bytes)
    return f(path, data, mode)


def layer_entries(after: Snapshot, prefix: str, before: Snapshot | None = None) -> list[Entry]:
    """The entries a builder records for a step that turned `before` into `after`."""
    before = before or {}
    out: list[Entry] = []
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    out += [d("/".join(parts[: i + 1])) for i in range(len(parts))]
    for rel in sorted(after):
        if before.get(rel) != after[rel]:
            out.append(_entry(f"{prefix}/{rel}" if prefix else rel, after[rel], prefix))
    gone = sorted(p for p in before if p not in after)
    for rel in gone:
        parent = rel.rpartition("/")[0]
        if parent and parent in gone:
            continue  # its deleted parent's whiteout covers it
        out.append(wh(f"{prefix}/{rel}" if prefix else rel))
    return out


def make_wheels(tmp: Path) -> dict[str, Path]:
    """Wheels of small local projects (the `wheels` fixture in tests/conftest.py)."""
    src, out = tmp / "projects", tmp / "wheels"
    big = "# padding\n" * 500
    projects = {
        "demo1": write_project(
            src,
            "Demo_Pkg",
            "1.0",
            {
                "demo/__init__.py": "def main():\n    return 1\n" + big,
                "demo/tests/__init__.py": "",
                "demo/tests/test_demo.py": "def test_x():\n    assert True\n" + big,
            },
            ["demo", "demo.tests"],
            scripts={"demo-cli": "demo:main"},
        ),
        "demo2": write_project(
            src,
            "Demo_Pkg",
            "2.0",
            {"demo/__init__.py": "def main():\n    return 2\n" + big * 2, "demo/util.py": "X = 1\n"},
            ["demo"],
            scripts={"demo-cli": "demo:main"},
        ),
        "acme_a": write_project(
            src, "acme-a", "1.0", {"acme/a/__init__.py": "", "acme/a/mod.py": "A = 1\n" + big}, ["acme.a"]
        ),
        "acme_b": write_project(
            src, "acme-b", "3.1", {"acme/b/__init__.py": "", "acme/b/mod.py": "B = 1\n"}, ["acme.b"]
        ),
        "solo": write_project(src, "solo", "0.5", {"solo.py": "S = 1\n" + big}, [], py_modules=["solo"]),
    }
    later = {"demo2"}  # a second version of a name needs its own pip run
    first = [k for k in projects if k not in later]
    built = dict(zip(first, build_wheels([projects[k] for k in first], out), strict=True))
    built |= dict(zip(later, build_wheels([projects[k] for k in later], out), strict=True))
    return built


__all__ = ["SITE", "Entry", "Venv", "build_wheels", "layer_entries", "make_wheels", "snapshot", "write_project"]
