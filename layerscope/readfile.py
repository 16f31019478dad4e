"""Reading a file the user named (a Dockerfile, a config, a saved analysis, a timings log)
safely: only a regular file, and whole only up to a limit, or line by line with each line
up to a limit (`read_lines`: a log whose size says nothing about what is kept of it).

`/dev/zero` never ends and a FIFO blocks until some writer comes: both are refused, as is
anything larger than the caller's limit. The file is opened non-blocking (opening a FIFO
for reading otherwise waits for a writer) and checked with fstat on the open descriptor,
so what is checked is what is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Generator, Iterable, Iterator

from layerscope.errors import BadReferenceError, FormatError

MIB = 1 << 20
TEXT_LIMIT = 16 * MIB  # Dockerfiles, .dockerignore, configs, files a build step reads
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


def split_lines(chunks: Iterable[bytes], limit: int, what: str) -> Iterator[bytes]:
    """The lines of a byte stream given in chunks, without their "\\n" (only it ends a line: a
    "\\r" stays, as does U+2028 or U+0085, which str.splitlines also splits at). A last line
    without its "\\n" is a line; an empty stream has none. A line longer than `limit` bytes
    is a FormatError naming its number: at most `limit` bytes of one line are ever held."""
    pending = bytearray()  # the start of a line that runs on into the next chunk
    number = 1
    for chunk in chunks:
        start = 0
        while (stop := chunk.find(b"\n", start)) >= 0:
            if len(pending) + stop - start > limit:
                raise _too_long(what, number, limit)
            if pending:
                pending += chunk[start:stop]
                yield bytes(pending)
                pending.clear()
            else:
                yield chunk[start:stop]
            number += 1
            start = stop + 1
        if len(pending) + len(chunk) - start > limit:
            raise _too_long(what, number, limit)
        pending += chunk[start:]
    if pending:
        yield bytes(pending)


def _too_long(what: str, number: int, limit: int) -> FormatError:
    return FormatError(f"{what}: line {number} is longer than {limit} bytes")


def _chunks(fd: int) -> Iterator[bytes]:
    while chunk := os.read(fd, CHUNK):
        yield chunk


def read_lines(path: str, what: str, limit: int) -> Generator[str, None, None]:
    """The lines of a regular UTF-8 text file, one at a time (as `split_lines` cuts them), each
    of at most `limit` bytes; the file's size is no limit. Lines are decoded one by one: "\\n"
    is never part of a multi-byte UTF-8 sequence, so a line boundary is never inside a character."""
    name = f"{what} {path}"
    fd = open_regular(path, what)
    try:
        offset = 0
        for number, line in enumerate(split_lines(_chunks(fd), limit, name), start=1):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as err:
                raise FormatError(f"{name} is not UTF-8 text (line {number}, byte {offset + err.start})") from None
            offset += len(line) + 1
    except OSError as err:
        raise BadReferenceError(f"cannot read {what} {path}: {err.strerror}") from None
    finally:
        os.close(fd)
