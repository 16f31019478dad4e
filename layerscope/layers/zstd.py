"""zstd layer streams: frames decoded with memory bounded by the window and the read size, and truncation
found by following the frame and block headers (RFC 8878), since the decoder ends silently at a cut."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from layerscope.errors import FormatError, UnsafeInputError

if TYPE_CHECKING:  # annotations only: streams.py imports this module (lazily, for zstd blobs)
    from layerscope.layers.streams import Readable

# zstd's memory is its window (what a frame may refer back to) plus what one read returns.
# 128 MiB is the largest window `zstd -d` accepts without --memory or --long; a frame that
# asks for more is refused before anything is allocated for it.
ZSTD_MAX_WINDOW = 1 << 27
ZSTD_READ_MAX = 4 << 20  # output per read(): a few bytes of RLE blocks cannot become gigabytes at once


class ZstdReader(io.RawIOBase):
    """zstd frames (skippable ones skipped), with truncation detected and memory bounded.

    zstandard's stream_reader returns at most what is asked for (however far a few input
    bytes expand) but ends silently at a cut in the middle of a frame; so a _FrameScanner
    follows the frame and block headers of the input as it is read, and says whether the
    stream ended between frames.
    """

    def __init__(self, stream: Readable, zstandard: object) -> None:
        self._error = zstandard.ZstdError  # type: ignore[attr-defined]
        self._frames = _FrameScanner()
        dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)  # type: ignore[attr-defined]
        self._reader = dctx.stream_reader(_Scanned(stream, self._frames), read_size=1 << 17, read_across_frames=True)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = ZSTD_READ_MAX if size < 0 else min(size, ZSTD_READ_MAX)
        try:
            data: bytes = self._reader.read(want)
        except self._error as err:
            if "too much memory" in str(err) or "window" in str(err).lower():
                raise UnsafeInputError(
                    f"zstd frame needs a window over {ZSTD_MAX_WINDOW >> 20} MiB; refusing to decode it"
                ) from None
            raise FormatError(f"corrupt zstd stream: {err}") from None
        if not data and want and not self._frames.between_frames():
            raise FormatError("truncated zstd stream: the last frame ends early")
        return data


class _Scanned:
    """The compressed input, shown to a _FrameScanner as the decoder reads it."""

    def __init__(self, stream: Readable, scanner: _FrameScanner) -> None:
        self._stream = stream
        self._scanner = scanner

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._scanner.feed(data)
        return data


_ZSTD_MAGIC = 0xFD2FB528
_FCS_BYTES = (0, 2, 4, 8)
_DICT_BYTES = (0, 1, 2, 4)


class _FrameScanner:
    """Follows zstd's frame format (RFC 8878) over the compressed bytes: frame headers,
    block headers, checksums and skippable frames; block contents are skipped unread.
    It only needs to know where frames end. Anything it cannot follow (not a frame) the
    decoder reports as corrupt."""

    def __init__(self) -> None:
        self._pending = b""  # header bytes waiting for the rest of the header
        self._need = 4  # header bytes the state below waits for
        self._state = "magic"
        self._skip = 0  # bytes of block contents (or a skippable frame) still to pass
        self._checksum = False
        self._lost = False  # not a zstd stream we can follow

    def between_frames(self) -> bool:
        return self._lost or (self._state == "magic" and not self._pending and not self._skip)

    def feed(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n and not self._lost:
            if self._skip:
                step = min(self._skip, n - pos)
                self._skip -= step
                pos += step
                continue
            take = min(self._need - len(self._pending), n - pos)
            self._pending += data[pos : pos + take]
            pos += take
            if len(self._pending) == self._need:
                head, self._pending = self._pending, b""
                self._header(head)

    def _header(self, head: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(head, "little")
            if magic == _ZSTD_MAGIC:
                self._state, self._need = "fhd", 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skippable", 4
            else:
                self._lost = True
        elif state == "skippable":
            self._skip = int.from_bytes(head, "little")
            self._state, self._need = "magic", 4
        elif state == "fhd":
            fhd = head[0]
            single = (fhd >> 5) & 1
            fcs = _FCS_BYTES[fhd >> 6] if (fhd >> 6) or not single else 1
            self._checksum = bool((fhd >> 2) & 1)
            self._skip = (0 if single else 1) + _DICT_BYTES[fhd & 3] + fcs
            self._state, self._need = "block", 3
        elif state == "block":
            h = int.from_bytes(head, "little")
            last, kind, size = h & 1, (h >> 1) & 3, h >> 3
            if kind == 3:
                self._lost = True  # a reserved block type: the decoder says it is corrupt
                return
            self._skip = 1 if kind == 1 else size
            if not last:
                self._state, self._need = "block", 3
            elif self._checksum:
                self._state, self._need = "checksum", 4
            else:
                self._state, self._need = "magic", 4
        else:  # the frame's checksum
            self._state, self._need = "magic", 4
