"""The model's one test of whether a layer's blob bytes are compressed, and the word every output uses for them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from layerscope.model import (
    COMPRESSED,
    STORED,
    STORED_MIXED,
    STORED_UNCOMPRESSED,
    Layer,
    layers_stored_word,
    plain_tar,
    stored_word,
)

DOCKER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
PLAIN = (DOCKER_TAR, OCI_TAR, "application/vnd.oci.image.layer.nondistributable.v1.tar")
PACKED = (DOCKER_GZIP, OCI_GZIP, OCI_ZSTD, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")


def layer(index: int, media_type: str) -> Layer:
    return Layer(index, None, f"sha256:{index:064x}", media_type, 100, None, None, None, None)


def test_plain_tars_are_told_from_compressed_blobs() -> None:
    assert all(plain_tar(m) for m in PLAIN)
    assert not any(plain_tar(m) for m in PACKED)
    assert layer(0, DOCKER_TAR).kept_uncompressed and not layer(0, OCI_GZIP).kept_uncompressed


def test_the_word_for_a_set_of_layers() -> None:
    assert stored_word([OCI_GZIP, DOCKER_GZIP, OCI_ZSTD]) == COMPRESSED == "compressed"
    assert stored_word([DOCKER_TAR, OCI_TAR]) == STORED_UNCOMPRESSED == "stored uncompressed"
    assert stored_word([OCI_TAR, OCI_GZIP]) == STORED_MIXED == "stored, partly uncompressed"
    assert stored_word([]) == STORED == "stored"  # no layer to tell: never claim "compressed"


def test_the_word_for_some_layers_of_an_image() -> None:
    image = [layer(0, OCI_GZIP), layer(1, OCI_TAR), layer(2, OCI_TAR)]
    assert layers_stored_word(image) == STORED_MIXED
    assert layers_stored_word(image, [1, 2]) == STORED_UNCOMPRESSED
    assert layers_stored_word(image, (0,)) == COMPRESSED
    assert layers_stored_word(image, [7]) == STORED  # an index the image lacks counts for nothing


@given(st.lists(st.sampled_from(PLAIN + PACKED)))
def test_compressed_only_when_every_blob_is(media_types: list[str]) -> None:
    word = stored_word(media_types)
    assert (word == COMPRESSED) == (bool(media_types) and not any(map(plain_tar, media_types)))
    assert (word == STORED_UNCOMPRESSED) == (bool(media_types) and all(map(plain_tar, media_types)))
