"""Build contexts read straight from git objects (`git ls-tree -r`, `git cat-file --batch`): no checkout."""

from __future__ import annotations

import os
import subprocess

from layerscope.buildfile.context import DIR, FILE, SYMLINK, ContextEntry, ContextTree
from layerscope.errors import BadReferenceError, UsageError


def _git(cwd: str, *args: str, data: bytes | None = None) -> bytes:
    try:
        p = subprocess.run(["git", "-C", cwd, *args], input=data, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed") from None
    if p.returncode != 0:
        message = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BadReferenceError(f"git {args[0]} failed: {message[-1] if message else p.returncode}")
    return p.stdout


def cat_blobs(cwd: str, oids: list[str]) -> dict[str, bytes]:
    """Contents of many blobs in one `git cat-file --batch` run."""
    if not oids:
        return {}
    out = _git(cwd, "cat-file", "--batch", data="".join(o + "\n" for o in oids).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for oid in oids:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode().split()
        if len(header) < 3:
            raise BadReferenceError(f"git object {oid} is missing")
        size = int(header[2])
        blobs[oid] = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs


def repo_prefix(context: str) -> tuple[str, str]:
    """The repository top level and the context's path inside it ("" at the top)."""
    if not os.path.isdir(context):
        raise BadReferenceError(f"context directory not found: {context}")
    top = _git(context, "rev-parse", "--show-toplevel").decode().strip()
    prefix = _git(context, "rev-parse", "--show-prefix").decode().strip().rstrip("/")
    return top, prefix


def check_revision(context: str, rev: str) -> str:
    p = subprocess.run(
        ["git", "-C", context, "rev-parse", "--verify", "--quiet", rev + "^{commit}"], capture_output=True, check=False
    )
    if p.returncode != 0:
        raise BadReferenceError(f"git revision {rev!r} not found in the repository of {context}")
    return p.stdout.decode().strip()


def tree_at(context: str, rev: str) -> ContextTree:
    """The context directory as it was in commit `rev` (modes as git stores them)."""
    commit = check_revision(context, rev)
    _, prefix = repo_prefix(context)
    listing = _git(context, "ls-tree", "-r", "-t", "-z", "-l", "--full-tree", commit, "--", prefix or ".")
    entries: dict[str, ContextEntry] = {}
    oids: dict[str, str] = {}
    links: list[str] = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, path_b = item.split(b"\t", 1)
        mode, kind, oid, size = meta.decode().split()
        path = path_b.decode("utf-8", "surrogateescape")
        if prefix:
            if not path.startswith(prefix + "/"):
                continue
            path = path[len(prefix) + 1 :]
        if kind == "tree" or kind == "commit":  # a submodule reads as an empty directory
            entries[path] = ContextEntry(path, DIR, 0o755)
        elif mode == "120000":
            links.append(path)
            oids[path] = oid
        else:
            entries[path] = ContextEntry(path, FILE, 0o755 if mode == "100755" else 0o644, int(size))
            oids[path] = oid
    targets = cat_blobs(context, [oids[p] for p in links])
    for p in links:
        entries[p] = ContextEntry(p, SYMLINK, 0o777, 0, targets[oids[p]].decode("utf-8", "surrogateescape"))

    def reader(path: str) -> bytes:
        if path not in oids:
            raise BadReferenceError(f"{path} is not in commit {rev}")
        return cat_blobs(context, [oids[path]])[oids[path]]

    return ContextTree(entries, reader, lambda p: oids[p])


def worktree(context: str) -> ContextTree:
    """The working tree hashed the way git hashes blobs, without `.git` and without files git ignores."""
    tree = ContextTree.from_dir(context, scheme="git").normalized_like_git()
    ignored = _git(context, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory", ".")
    drop = [p.decode("utf-8", "surrogateescape").rstrip("/") for p in ignored.split(b"\0") if p]
    for path in list(tree.entries):
        if path == ".git" or path.startswith(".git/") or any(path == d or path.startswith(d + "/") for d in drop):
            del tree.entries[path]
    return tree


def first_parent_log(context: str, count: int, rev: str = "HEAD") -> list[tuple[str, str]]:
    """(commit, subject) of `rev` and its first-parent ancestors, newest first, at most `count`."""
    check_revision(context, rev)
    out = _git(context, "log", "--first-parent", f"--max-count={count}", "--format=%H%x00%s%x00", rev, "--")
    fields = out.decode("utf-8", "replace").split("\0")
    return [(fields[i].strip(), fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def changed_paths(context: str, old: str, new: str) -> list[str]:
    """Context paths that differ between two commits (relative to the context directory)."""
    out = _git(context, "diff", "--relative", "--name-only", "--no-renames", "-z", old, new, "--")
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
