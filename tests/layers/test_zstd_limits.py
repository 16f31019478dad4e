"""zstd layers in bounded memory: the window a frame may ask for, the output of one read,
and truncation found by following the frame headers (the decoder ends silently at a cut)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.errors import FormatError, UnsafeInputError
from layerscope.layers import streams, zstd
from layerscope.layers.reader import read_layer
from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostile import DATA, Sandbox, assert_accepted, assert_refused
from tests.support.layouts import OciLayout
from tests.support.tarcraft import skippable_frame, zstd_frames, zstd_rle_bomb

TAR = layer_tar([d("a"), f("a/x", b"hello" * 1000), f("b", b"1")])


def _window_frame(window_log: int) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log)
    obj = zstandard.ZstdCompressor(compression_params=params).compressobj()  # streamed: no content size
    return obj.compress(TAR) + obj.flush()


def test_one_read_returns_a_bounded_amount_however_far_the_input_expands():
    reader = streams.open_decompressed(io.BytesIO(zstd_rle_bomb(4096)), "zstd")  # 512 MiB from 16 KiB
    sizes = [len(reader.read()) for _ in range(3)] + [len(reader.read(1 << 30))]
    assert max(sizes) <= zstd.ZSTD_READ_MAX and min(sizes) > 0


def test_a_frame_asking_for_a_huge_window_is_refused_before_decoding():
    frame = _window_frame(28)
    assert zstandard.get_frame_parameters(frame).window_size == 1 << 28
    with pytest.raises(UnsafeInputError, match="window over 128 MiB"):
        read_layer(io.BytesIO(frame))
    assert read_layer(io.BytesIO(_window_frame(27))).size == 5001  # zstd -d's own limit still reads


def test_a_cut_anywhere_inside_hand_made_blocks_is_truncation():
    blob = zstd_rle_bomb(3)
    for cut in (5, 6, 9, 520, 521, len(blob) - 1030, len(blob) - 1):
        with pytest.raises(FormatError, match="truncated"):
            read_layer(io.BytesIO(blob[:cut]))


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.integers(0, len(TAR)), max_size=4),
    skips=st.lists(st.binary(max_size=20), max_size=2),
    checksum=st.booleans(),
    data=st.data(),
)
def test_frame_scanner_agrees_with_the_decoder(parts, skips, checksum, data):
    """Frames (with and without checksums, split anywhere) and skippable frames: the whole
    stream reads; every cut inside a frame is truncation or corruption, never a short read."""
    cuts = sorted(parts)
    pieces = [TAR[a:b] for a, b in zip([0, *cuts], [*cuts, len(TAR)], strict=True)]
    c = zstandard.ZstdCompressor(write_checksum=checksum)
    frames = [skippable_frame(s) for s in skips] + [c.compress(p) for p in pieces]
    blob = b"".join(frames)
    assert read_layer(io.BytesIO(blob)).size == 5001
    ends = {sum(len(x) for x in frames[: i + 1]) for i in range(len(frames))}
    # A cut between frames is a shorter stream, not a truncated one.
    cut = data.draw(st.integers(1, len(blob) - 1).filter(lambda n: n not in ends))
    with pytest.raises(FormatError):
        read_layer(io.BytesIO(blob[:cut]))


def test_several_frames_still_read():
    blob = zstd_frames(TAR[:700], TAR[700:]) + skippable_frame(b"pad")
    assert read_layer(io.BytesIO(blob)).size == 5001


def _zstd_layout(root: Path, blob: bytes) -> str:
    lay = OciLayout()
    spec = ImageSpec([b""])  # the diff_id is not checked without --verify
    lay.entries.append(lay.add_image(spec, blob=lambda _: blob, compression="zstd"))
    return lay.write_dir(str(root))


def test_the_cli_refuses_a_zstd_bomb_in_bounded_memory(tmp_path: Path):
    box = Sandbox(tmp_path, limit=DATA)
    path = _zstd_layout(box.inputs / "oci", zstd_rle_bomb(8192))  # 1 GiB of zeros in 32 KiB
    assert_refused(box.run("inspect", f"oci:{path}", memory=384 << 20), "decompression bomb")


def test_the_cli_refuses_a_huge_window_and_reads_a_normal_one(tmp_path: Path):
    box = Sandbox(tmp_path, limit=DATA)
    huge = _zstd_layout(box.inputs / "big", _window_frame(30))
    normal = _zstd_layout(box.inputs / "ok", _window_frame(23))
    assert_refused(box.run("inspect", f"oci:{huge}"), "window over 128 MiB")
    assert assert_accepted(box.run("inspect", f"oci:{normal}"))
