"""Random access to the files of an image layout: a directory, or a tar file on disk.

Both resolve names inside the layout only ('..' and absolute names are refused) and
detect symlink loops; a tar member is read in place, never extracted.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from layerscope.errors import BadReferenceError, FormatError, UnsafeInputError, quote
from layerscope.layers.streams import sniff
from layerscope.layers.tarheader import BLOCK
from layerscope.layers.tarwalk import TarWalker
from layerscope.model import MAX_PATH
from layerscope.readfile import open_regular

MAX_SMALL = 64 << 20  # JSON documents (manifests, configs, indexes) larger than this are refused
MAX_LINK_HOPS = 40


def clean_member(name: str, what: str) -> str:
    """A layout-relative name; refuses absolute names and '..' escapes."""
    if name.startswith("/"):
        raise UnsafeInputError(f"unsafe path in image: {what} {quote(name)} is absolute")
    clean = posixpath.normpath(name)
    if clean == ".." or clean.startswith("../"):
        raise UnsafeInputError(f"unsafe path in image: {what} {quote(name)} escapes the archive")
    return clean


class Store(Protocol):
    label: str

    def exists(self, name: str) -> bool: ...

    def read(self, name: str, what: str = "file") -> bytes: ...

    def open(self, name: str) -> BinaryIO: ...

    def size(self, name: str) -> int: ...

    def names(self) -> list[str]: ...

    def identity(self, name: str) -> str | None:
        """What the bytes of `name` are, as far as the file system says (path, device,
        inode, size, mtime, ctime, offset, length): the key of the file-identity cache."""
        ...


def _stat_identity(path: str, st: os.stat_result) -> str:
    return f"{path}\0{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}"


class DirStore:
    """A directory: names resolve inside it, symlinks included, and name regular files only."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.label = root
        self._real_root = os.path.realpath(root)

    def _path(self, name: str) -> str:
        return os.path.join(self.root, clean_member(name, "file"))

    def _checked(self, name: str) -> tuple[str, os.stat_result] | None:
        """(real path, stat) of `name`; None when missing. A name that resolves outside the
        directory (a symlink out of the layout) or to anything but a regular file is refused:
        a FIFO would hang the read, a device never end, and /etc/shadow is not a blob."""
        path = self._path(name)
        try:
            st = os.stat(path)
        except OSError as err:
            if err.errno == errno.ELOOP:  # a loop is hostile, not missing
                raise _os_error(err, name, self.label) from None
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise _os_error(err, name, self.label) from None
        real = os.path.realpath(path)
        if real != self._real_root and not real.startswith(self._real_root.rstrip(os.sep) + os.sep):
            raise UnsafeInputError(f"unsafe symlink in {self.label}: {name} resolves outside it, to {quote(real)}")
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                return None  # a directory has no bytes to read: as good as missing
            raise UnsafeInputError(f"{name} in {self.label} is not a regular file ({_kind(st.st_mode)})")
        return real, st

    def exists(self, name: str) -> bool:
        return self._checked(name) is not None

    def identity(self, name: str) -> str | None:
        found = self._checked(name)
        return None if found is None else "file\0" + _stat_identity(*found)

    def read(self, name: str, what: str = "file") -> bytes:
        if self.size(name) > MAX_SMALL:
            raise FormatError(f"{what} {name} in {self.label} is too large to be a JSON document")
        with self.open(name) as f:
            return f.read()

    def open(self, name: str) -> BinaryIO:
        found = self._checked(name)
        if found is None:
            raise FormatError(f"{name} is missing from {self.label}")
        real, st = found
        try:
            # O_NONBLOCK: a FIFO swapped in since the check must not hang the open.
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise _os_error(err, name, self.label) from None
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise UnsafeInputError(f"{name} in {self.label} changed while it was being opened")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def size(self, name: str) -> int:
        found = self._checked(name)
        if found is None:
            raise FormatError(f"{name} is missing from {self.label}")
        return found[1].st_size

    def names(self) -> list[str]:
        out = []
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                out.append(os.path.relpath(os.path.join(dirpath, f), self.root))
        return out


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "a special file")


def _os_error(err: OSError, name: str, label: str) -> Exception:
    if err.errno == errno.ELOOP:
        return UnsafeInputError(f"symlink loop at {name} in {label}")
    if err.errno == errno.ENOENT:
        return FormatError(f"{name} is missing from {label}")
    return BadReferenceError(f"cannot read {name} in {label}: {err.strerror}")


@dataclass(frozen=True, slots=True)
class _Member:
    offset: int  # of the data
    size: int
    type: str
    linkname: str


class TarStore:
    """Members of an (uncompressed) tar file, indexed once by walking its headers."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.label = path
        self.members: dict[str, _Member] = {}
        # Only a regular file: /dev/zero would be walked forever, a FIFO would block.
        with os.fdopen(open_regular(path, "image archive"), "rb") as f:
            head = f.read(BLOCK)
            if not head:
                raise FormatError(f"{path} is empty, not an image archive")
            kind = sniff(head)
            if kind != "none":
                raise FormatError(
                    f"{path} is a {kind}-compressed file, not an image archive "
                    "(docker save and OCI archives are plain tars)"
                )
            f.seek(0)
            try:
                for h in TarWalker(f):
                    if len(h.name) > MAX_PATH or len(h.linkname) > MAX_PATH:
                        # The index holds every name: 20,000 names of 60 kB had taken 1.2 GB.
                        raise FormatError(f"a member name of more than {MAX_PATH} characters at offset {h.offset}")
                    name = posixpath.normpath(h.name.lstrip("/")) if h.name.strip("/.") else "."
                    self.members[name] = _Member(h.offset + BLOCK, h.data_size, h.typeflag, h.linkname)
            except FormatError as err:
                raise FormatError(f"{path} is not an image archive: {err}") from None

    def _resolve(self, name: str) -> _Member:
        name = clean_member(name, "file")
        for _ in range(MAX_LINK_HOPS):
            m = self.members.get(name)
            if m is None:
                raise FormatError(f"{name} is missing from {self.label}")
            if m.type == "2":  # symlink: relative to the member's directory
                target = m.linkname
                if target.startswith("/"):
                    raise UnsafeInputError(f"unsafe symlink in image: {name} -> {target}")
                name = clean_member(posixpath.join(posixpath.dirname(name), target), "symlink target")
                continue
            if m.type == "1":
                name = clean_member(m.linkname, "hardlink target")
                continue
            if m.type == "5":  # a directory has no bytes to read: as good as missing
                raise FormatError(f"{name} is a directory in {self.label}, not a file")
            return m
        raise UnsafeInputError(f"symlink loop at {name} in {self.label}")

    def exists(self, name: str) -> bool:
        try:
            self._resolve(name)
            return True
        except FormatError:  # missing; loops and escapes (UnsafeInputError) are reported as such
            return False

    def size(self, name: str) -> int:
        return self._resolve(name).size

    def identity(self, name: str) -> str | None:
        m = self._resolve(name)
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return f"tar\0{_stat_identity(os.path.realpath(self.path), st)}\0{m.offset}\0{m.size}"

    def read(self, name: str, what: str = "file") -> bytes:
        m = self._resolve(name)
        if m.size > MAX_SMALL:
            raise FormatError(f"{what} {name} in {self.label} is too large to be a JSON document")
        with self.open(name) as f:
            return f.read()

    def open(self, name: str) -> BinaryIO:
        m = self._resolve(name)
        f = open(self.path, "rb", buffering=0)  # noqa: SIM115 - owned and closed by the _Slice
        f.seek(m.offset)
        return _Slice(f, m.size)  # type: ignore[return-value]

    def names(self) -> list[str]:
        return [n for n, m in self.members.items() if m.type != "5"]


# Whether members may be mapped into memory (forkpool turns it on in its workers only):
# if the archive shrinks under a mapping, the kernel ends the reading process with
# SIGBUS. A worker's end is reported as a changed archive; the main process's would not be.
_mapping = False


def allow_mapping(allowed: bool = True) -> None:
    global _mapping
    _mapping = allowed


class _Slice(io.RawIOBase):
    """A window of a file: one member's data. Seekable, so that the tar walker skips the
    data of an uncompressed layer (docker save) instead of reading it. Reads are preads:
    a seek costs no system call, and two slices of one file never share a position."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self._fd = f.fileno()
        self._start = f.tell()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = {0: offset, 1: self._pos + offset, 2: self._size + offset}[whence]
        self._pos = max(0, min(pos, self._size))
        return self._pos

    def read(self, size: int = -1) -> bytes:
        left = self._size - self._pos
        if left <= 0:
            return b""
        n = left if size < 0 or size > left else size
        data = os.pread(self._fd, n, self._start + self._pos)
        if not data:
            raise FormatError("truncated archive: a member ends past the end of the file")
        self._pos += len(data)
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    @property
    def extent(self) -> tuple[int, int, int]:
        """(descriptor, start, length) of the member in the archive: read by preads, side by side."""
        return self._fd, self._start, self._size

    @property
    def map_window(self) -> Callable[[int, int], tuple[mmap.mmap | bytes, int]] | None:
        """How the tar walker reads this member in place, where mapping is allowed (else None)."""
        return self._map_window if _mapping else None

    def _map_window(self, offset: int, length: int) -> tuple[mmap.mmap | bytes, int]:
        """Up to `length` bytes of the member from `offset`, mapped (not read): the mapping and
        where `offset` is in it (mappings start on a page boundary). b"" past the end."""
        length = min(length, self._size - offset)
        if length <= 0:
            return b"", 0
        where = self._start + offset
        aligned = where - where % mmap.ALLOCATIONGRANULARITY
        try:
            window = mmap.mmap(self._fd, where - aligned + length, offset=aligned, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file that cannot be mapped: read it
            return os.pread(self._fd, length, where), 0
        return window, where - aligned
