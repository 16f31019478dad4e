"""Reading a file the user named (a Dockerfile, a config, a saved analysis, a timings log)
whole, safely: only a regular file, and only up to a limit.

`/dev/zero` never ends and a FIFO blocks until some writer comes: both are refused, as is
anything larger than the caller's limit. The file is opened non-blocking (opening a FIFO
for reading otherwise waits for a writer) and checked with fstat on the open descriptor,
so what is checked is what is read.
"""

from __future__ import annotations

import os
import stat

from layerscope.errors import BadReferenceError, FormatError

MIB = 1 << 20
TEXT_LIMIT = 16 * MIB  # Dockerfiles, .dockerignore, configs, files a build step reads
TIMINGS_LIMIT = 512 * MIB  # a BuildKit rawjson log carries the steps' output: it can be large
CHUNK = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str, what: str) -> int:
    """A read-only descriptor of `path`, which must be a regular file (BadReferenceError otherwise)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise BadReferenceError(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadReferenceError(f"cannot read {what} {path}: it is {_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_regular(path: str, what: str) -> None:
    """Refuse `path` early unless it is a regular file (for readers that open it themselves)."""
    os.close(open_regular(path, what))


def read_bytes(path: str, what: str, limit: int = TEXT_LIMIT) -> bytes:
    """The whole of a regular file of at most `limit` bytes."""
    fd = open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FormatError(f"{what} {path} is too large: {size} bytes (the limit is {limit})")
        parts: list[bytes] = []
        total = 0
        while True:  # read to the end, not to st_size: the file may have grown, never past the limit
            chunk = os.read(fd, min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FormatError(f"{what} {path} is too large: more than {limit} bytes")
        return b"".join(parts)
    except OSError as err:
        raise BadReferenceError(f"cannot read {what} {path}: {err.strerror}") from None
    finally:
        os.close(fd)


def read_text(path: str, what: str, limit: int = TEXT_LIMIT) -> str:
    """The whole of a regular UTF-8 text file of at most `limit` bytes."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FormatError(f"{what} {path} is not UTF-8 text (byte {err.start})") from None
