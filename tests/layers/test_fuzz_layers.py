"""Fuzzing the layer reader (tar walker, PAX, GNU long names, gzip and zstd framing): damaged
or arbitrary bytes either read or raise a LayerscopeError, never another exception and never
a hang (each example runs under a time limit as well as hypothesis' deadline)."""

from __future__ import annotations

import contextlib
import gzip
import io
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.errors import LayerscopeError
from layerscope.layers.reader import read_layer
from tests.support.factory import d, f, layer_tar, sym
from tests.support.hostile import time_limit
from tests.support.tarcraft import end, entry, pax

BASE = (
    layer_tar(
        [
            d("usr"),
            f("usr/bin/tool", b"t" * 700),
            sym("usr/bin/link", "tool"),
            f("var/lib/dpkg/status", b"Package: a\nStatus: install ok installed\nVersion: 1\n"),
            f("x/" + "long" * 60, b"n"),  # a PAX path
            f("app/.wh.old", b""),
        ]
    )
    + pax({"path": "p" * 300, "size": "3"})
    + entry("short", b"abc")
    + end()
)

SETTINGS = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class _Stream(io.RawIOBase):
    """A non-seekable stream, as from a registry or the Docker engine."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(b), 997))  # odd sizes: reads that cut headers
        b[: len(chunk)] = chunk
        return len(chunk)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(BASE)
    for _ in range(draw(st.integers(0, 6))):
        block = draw(st.integers(0, len(data) // 512 - 1))
        at = block * 512 + draw(st.sampled_from([0, 100, 124, 135, 148, 156, 157, 257, 345, 511]))
        at += draw(st.integers(0, 11))
        data[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=1200))
    return bytes(data)


def _read(data: bytes) -> None:
    with time_limit(20):
        for blob in (io.BytesIO(data), _Stream(data)):
            with contextlib.suppress(LayerscopeError):
                read_layer(blob, verify=True)


@SETTINGS
@given(damaged())
def test_damaged_tars_read_or_raise_a_layerscope_error(data: bytes) -> None:
    _read(data)


@SETTINGS
@given(damaged(), st.sampled_from(["gzip", "zstd"]), st.integers(0, 64))
def test_damaged_compressed_layers_read_or_raise_a_layerscope_error(data: bytes, how: str, cut: int) -> None:
    if how == "gzip":
        packed = gzip.compress(data, mtime=0)
    else:
        import zstandard

        packed = zstandard.ZstdCompressor().compress(data)
    _read(packed[: len(packed) - cut])


@SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_read_or_raise_a_layerscope_error(data: bytes) -> None:
    _read(data)
    _read(b"\x1f\x8b\x08\x00" + data)  # sniffed as gzip
    _read(b"\x28\xb5\x2f\xfd" + data)  # sniffed as zstd
