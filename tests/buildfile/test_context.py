"""What a COPY/ADD selects from a context and what its checksum covers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from layerscope.buildfile.context import ContextTree, load_ignore, select
from layerscope.errors import UnsafeInputError


def make(root: Path, files: dict[str, str]) -> ContextTree:
    for path, content in files.items():
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
        os.chmod(p, 0o644)
    return ContextTree.from_dir(str(root))


def test_directory_wildcard_exclude_parents(tmp_path: Path) -> None:
    tree = make(tmp_path, {"src/a.py": "a", "src/pkg/b.py": "b", "src/notes.md": "n", "c.json": "{}", "d.json": "{}"})
    sel = select(tree, ["src/"], 1)
    assert set(sel.files) == {".", "a.py", "pkg", "pkg/b.py", "notes.md"}
    assert set(select(tree, ["*.json"], 1).files) == {"c.json", "d.json"}
    assert "notes.md" not in select(tree, ["src"], 1, excludes=("*.md",)).files
    assert "src/pkg/b.py" in select(tree, ["src/pkg"], 1, parents=True).files
    empty = select(tree, ["*.pem"], 1)
    assert empty.files == {} and empty.empty_wildcards == ("*.pem",)
    assert select(tree, ["nope.txt"], 1).missing == ("nope.txt",)


def test_checksum_covers_content_mode_names_not_mtime(tmp_path: Path) -> None:
    tree = make(tmp_path, {"a.txt": "x"})
    before = select(tree, ["a.txt"], 1).digest()
    os.utime(tmp_path / "a.txt", (1, 1))
    assert select(ContextTree.from_dir(str(tmp_path)), ["a.txt"], 1).digest() == before
    os.chmod(tmp_path / "a.txt", 0o755)
    assert select(ContextTree.from_dir(str(tmp_path)), ["a.txt"], 1).digest() != before
    (tmp_path / "b").symlink_to("a.txt")
    link_tree = ContextTree.from_dir(str(tmp_path))
    assert link_tree.fingerprint("b").content == "a.txt"  # a link counts by its target text


def test_dockerignore_and_dockerfile_specific_ignore(tmp_path: Path) -> None:
    files = {".dockerignore": "*.log\n", "app.Dockerfile.dockerignore": "*.txt\n", "a.log": "", "b.txt": ""}
    tree = make(tmp_path, files)
    load_ignore(tree, "Dockerfile", None)
    assert "a.log" not in select(tree, ["."], 1).files and "b.txt" in select(tree, ["."], 1).files
    load_ignore(tree, "app.Dockerfile", None)  # <Dockerfile>.dockerignore wins
    assert "a.log" in select(tree, ["."], 1).files and "b.txt" not in select(tree, ["."], 1).files


def test_source_outside_the_context_is_refused(tmp_path: Path) -> None:
    tree = make(tmp_path, {"a": ""})
    with pytest.raises(UnsafeInputError, match=r"line 3: .*outside the build context"):
        select(tree, ["../etc/passwd"], 3)
