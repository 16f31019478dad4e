"""A build context as the builders see it: entries, .dockerignore, what a COPY/ADD source selects, and the
checksum inputs of a selection (names, type, permission bits, symlink target, content; never mtime, uid/gid).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from layerscope.buildfile.ignore import IgnoreMatcher, compile_pattern, read_ignore_lines
from layerscope.errors import BadReferenceError, FormatError, UnsafeInputError
from layerscope.readfile import CHUNK, open_regular, read_bytes

FILE, DIR, SYMLINK, OTHER = "file", "dir", "symlink", "other"
WILDCARDS = "*?["


@dataclass(frozen=True, slots=True)
class ContextEntry:
    path: str  # relative to the context root, "/"-separated, no leading "./"
    type: str
    mode: int  # permission bits only
    size: int = 0
    link: str = ""  # symlink target as written
    owner: str = ""  # "uid:gid" on the host, where known (buildah 1.28 hashes it)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a builder hashes for one copied entry."""

    type: str
    mode: int
    content: str  # content digest of a file, link text of a symlink, "" for a directory


def hash_file(path: str, git: bool = False) -> str:
    """The sha256 (or, `git`, the git blob id) of a file's content, read in chunks (a context may hold
    files of gigabytes: never read whole)."""
    fd = open_regular(path, "context file")
    try:
        with os.fdopen(fd, "rb", buffering=0) as fh:
            h = hashlib.sha1() if git else hashlib.sha256()
            if git:
                h.update(b"blob %d\0" % os.fstat(fd).st_size)
            while chunk := fh.read(CHUNK):
                h.update(chunk)
    except OSError as err:
        raise BadReferenceError(f"cannot read context file {path}: {err.strerror}") from None
    return h.hexdigest()


class ContextTree:
    """Entries of a context by path; file contents are read (and hashed) only when a step selects them."""

    def __init__(
        self, entries: dict[str, ContextEntry], reader: Callable[[str], bytes], digest: Callable[[str], str]
    ) -> None:
        self.entries = entries
        self._reader = reader
        self._digest = digest
        self._digests: dict[str, str] = {}
        self._children: dict[str, list[str]] | None = None
        self.ignore = IgnoreMatcher([])
        self.changed: set[str] = set()  # paths declared changed (--changed): their content reads as different

    def read(self, path: str) -> bytes:
        return self._reader(path)

    def digest(self, path: str) -> str:
        if path in self.changed:
            return "changed:" + path
        if path not in self._digests:
            self._digests[path] = self._digest(path)
        return self._digests[path]

    def fingerprint(self, path: str) -> Fingerprint:
        entry = self.entries[path]
        if entry.type == FILE:
            return Fingerprint(FILE, entry.mode, self.digest(path))
        if entry.type == SYMLINK:
            return Fingerprint(SYMLINK, 0o777, entry.link)
        return Fingerprint(entry.type, entry.mode, "changed" if path in self.changed else "")

    def children(self, path: str) -> list[str]:
        if self._children is None:
            self._children = {}
            for p in self.entries:
                self._children.setdefault(os.path.dirname(p), []).append(p)
        return self._children.get(path, [])

    def visible(self, path: str) -> bool:
        return path == "" or (path in self.entries and not self.ignore.ignored(path))

    def walk(self, top: str, apply_ignore: bool = True) -> Iterator[str]:
        """Every entry below `top` (not `top` itself), ignored ones skipped unless told otherwise."""
        for child in sorted(self.children(top)):
            hidden = apply_ignore and self.ignore.ignored(child)
            if not hidden:
                yield child
            if self.entries[child].type == DIR and (not hidden or self.ignore.may_descend(child)):
                yield from self.walk(child, apply_ignore)

    @classmethod
    def from_dir(cls, root: str, scheme: str = "sha256") -> ContextTree:
        if not os.path.isdir(root):
            raise BadReferenceError(f"context directory not found: {root}")
        entries: dict[str, ContextEntry] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                st = os.lstat(full)
                owner = f"{st.st_uid}:{st.st_gid}"
                if stat.S_ISLNK(st.st_mode):
                    entries[rel] = ContextEntry(rel, SYMLINK, 0o777, 0, os.readlink(full), owner)
                elif stat.S_ISDIR(st.st_mode):
                    entries[rel] = ContextEntry(rel, DIR, stat.S_IMODE(st.st_mode), owner=owner)
                elif stat.S_ISREG(st.st_mode):
                    entries[rel] = ContextEntry(rel, FILE, stat.S_IMODE(st.st_mode), st.st_size, owner=owner)
                else:
                    entries[rel] = ContextEntry(rel, OTHER, stat.S_IMODE(st.st_mode), owner=owner)

        def reader(path: str) -> bytes:
            return read_bytes(os.path.join(root, path), "context file")

        def digest(path: str) -> str:
            return hash_file(os.path.join(root, path), git=scheme == "git")

        return cls(entries, reader, digest)

    def with_files(self, files: dict[str, bytes]) -> ContextTree:
        """The same tree with some files' contents replaced or added (a rewritten Dockerfile, .dockerignore)."""
        entries = dict(self.entries)
        for path, data in files.items():
            entries[path] = ContextEntry(path, FILE, 0o644, len(data))

        def reader(path: str) -> bytes:
            return files[path] if path in files else self._reader(path)

        def digest(path: str) -> str:
            return "sha256:" + hashlib.sha256(files[path]).hexdigest() if path in files else self._digest(path)

        tree = ContextTree(entries, reader, digest)
        tree.ignore, tree.changed = self.ignore, set(self.changed)
        return tree

    def normalized_like_git(self) -> ContextTree:
        """Modes as git stores them (0644/0755 files, 0755 dirs): to compare a worktree with a commit."""
        entries = {}
        for p, e in self.entries.items():
            if e.type == FILE:
                e = ContextEntry(p, FILE, 0o755 if e.mode & 0o100 else 0o644, e.size)
            elif e.type == DIR:
                e = ContextEntry(p, DIR, 0o755)
            entries[p] = e
        tree = ContextTree(entries, self._reader, self._digest)
        tree.ignore = self.ignore
        return tree


def load_ignore(
    tree: ContextTree, dockerfile_rel: str | None, dockerfile_abs: str | None, per_dockerfile: bool = True
) -> None:
    """`<Dockerfile>.dockerignore` next to the Dockerfile beats `.dockerignore` at the context root (not for the
    classic builder: `per_dockerfile=False`, observed on Docker 20.10)."""
    candidates: list[bytes | None] = []
    if not per_dockerfile:
        pass
    elif dockerfile_rel is not None and dockerfile_rel + ".dockerignore" in tree.entries:
        candidates.append(tree.read(dockerfile_rel + ".dockerignore"))
    elif dockerfile_abs is not None and os.path.lexists(dockerfile_abs + ".dockerignore"):
        candidates.append(read_bytes(dockerfile_abs + ".dockerignore", ".dockerignore"))
    if not candidates and ".dockerignore" in tree.entries:
        candidates.append(tree.read(".dockerignore"))
    if candidates and candidates[0] is not None:
        tree.ignore = IgnoreMatcher(read_ignore_lines(candidates[0].decode("utf-8", "replace")))


def clean_source(src: str, line: int) -> str:
    """A COPY source relative to the context root; sources outside the context are refused."""
    parts: list[str] = []
    for part in src.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafeInputError(f"Dockerfile line {line}: COPY/ADD source {src!r} is outside the build context")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class Selection:
    """What one COPY/ADD selects: destination-relative name -> fingerprint, plus sources not found."""

    files: dict[str, Fingerprint]
    missing: tuple[str, ...] = ()
    empty_wildcards: tuple[str, ...] = ()
    origins: dict[str, str] | None = None  # name -> context path, for messages

    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files):
            f = self.files[name]
            h.update(f"{name}\0{f.type}\0{f.mode:o}\0{f.content}\n".encode("utf-8", "surrogateescape"))
        for m in self.missing:
            h.update(f"missing\0{m}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()


def select(
    tree: ContextTree,
    sources: list[str],
    line: int,
    *,
    excludes: tuple[str, ...] = (),
    parents: bool = False,
    apply_ignore: bool = True,
    follow_top_symlink: bool = True,
) -> Selection:
    """The entries that COPY/ADD `sources` take from `tree`, keyed by their name under the destination."""
    files: dict[str, Fingerprint] = {}
    origins: dict[str, str] = {}
    missing: list[str] = []
    empty: list[str] = []
    excluder = IgnoreMatcher(excludes) if excludes else None

    def visible(p: str) -> bool:
        return p == "" or (p in tree.entries and (not apply_ignore or not tree.ignore.ignored(p)))

    for raw in sources:
        src = clean_source(raw, line)
        if any(c in src for c in WILDCARDS):
            try:
                regex = compile_pattern(src)
            except ValueError as err:  # Go's filepath.Match: ErrBadPattern fails the build
                raise FormatError(f"Dockerfile line {line}: bad COPY/ADD source pattern {raw!r}: {err}") from None
            depth = src.count("/")
            matches = [p for p in tree.entries if p.count("/") == depth and regex.match(p) and visible(p)]
            if not matches:
                empty.append(raw)
            tops = [(m, os.path.basename(m)) for m in sorted(matches)]
        elif not visible(src):
            missing.append(raw)
            continue
        else:
            tops = [
                (src, "" if tree.entries.get(src, ContextEntry("", DIR, 0o755)).type == DIR else os.path.basename(src))
            ]
        for top, name in tops:
            entry = tree.entries.get(top, ContextEntry("", DIR, 0o755))
            if entry.type == SYMLINK and follow_top_symlink:
                target = clean_source(os.path.normpath(os.path.join(os.path.dirname(top), entry.link)), line)
                if target in tree.entries:
                    top, entry = target, tree.entries[target]
            prefix = top if parents else ""
            if entry.type != DIR:
                files[prefix or name] = tree.fingerprint(top)
                origins[prefix or name] = top
                continue
            base = prefix if parents else name
            files[base or "."] = Fingerprint(DIR, entry.mode, "") if top else Fingerprint(DIR, 0o755, "")
            for p in tree.walk(top, apply_ignore):
                rel = p[len(top) + 1 :] if top else p
                if excluder is not None and excluder.ignored(rel):
                    continue
                files[os.path.join(base, rel) if base else rel] = tree.fingerprint(p)
                origins[os.path.join(base, rel) if base else rel] = p
    return Selection(files, tuple(missing), tuple(empty), origins)


def changed_names(old: Selection, new: Selection) -> list[str]:
    names = sorted(set(old.files) | set(new.files))
    where = {**(old.origins or {}), **(new.origins or {})}
    out = [where.get(n, n) for n in names if old.files.get(n) != new.files.get(n)]
    out += [f"{m} (missing)" for m in new.missing if m not in old.missing]
    return out
