"""Secret detectors on file heads, the reader's scan in its one pass, and how the layer cache keeps findings."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.layers import layercache as layer_cache
from layerscope.layers import secrets
from layerscope.layers.layercache import LayerCache, decode_record, encode_record
from layerscope.layers.reader import read_layer
from tests.support.factory import compress, f, layer_tar
from tests.support.leaky import aws_key_id, github_token, private_key

GCP = json.dumps(
    {"type": "service_account", "project_id": "p", "private_key_id": "1", "private_key": "(a key)", "client_email": "x"}
).encode()
SLACK = b"xo" + b"xb-" + b"1234567890-9876543210-" + b"AbCdEfGhIjKlMnOpQrStUvWx"


@pytest.mark.parametrize(
    ("data", "detector"),
    [
        (private_key(), "private-key"),
        (b"key = '''" + private_key() + b"'''", "private-key"),
        (f"aws_access_key_id = {aws_key_id()}\n".encode(), "aws-access-key-id"),
        (f"token: {github_token()}\n".encode(), "github-token"),
        (b"export SLACK=" + SLACK, "slack-token"),
        (GCP, "gcp-service-account"),
    ],
)
def test_each_detector_fires_on_its_secret(data: bytes, detector: str) -> None:
    assert secrets.scan(data) == (detector,)


@pytest.mark.parametrize(
    "data",
    [
        b"Keys start with -----BEGIN RSA PRIVATE KEY----- and end with the END line.",  # a header quoted in docs
        b"aws_access_key_id = AKIA" + b"IOSFODNN7EXAMPLE",  # AWS's documented example
        b"GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
        b"SLACK_TOKEN=xo" + b"xb-your-token-here",
        b'{"type": "service_account", "client_email": "x"}',  # no private key in it
        b"\x7fELF" + bytes(4096),
    ],
)
def test_lookalikes_do_not_fire(data: bytes) -> None:
    assert secrets.scan(data) == ()


_text = st.binary(max_size=2048).map(lambda b: b.replace(b"\0", b""))  # any bytes but NUL: "text"


@given(_text, _text)
def test_a_key_anywhere_in_text_noise_is_found(before: bytes, after: bytes) -> None:
    found = secrets.scan(before + b"\n" + private_key() + after)
    assert "private-key" in found and set(found) <= set(secrets.NAMES)


@given(st.binary(max_size=secrets.SNIFF - 1), _text)
def test_a_nul_in_the_first_bytes_makes_a_binary_never_scanned(before: bytes, after: bytes) -> None:
    assert secrets.scan(before + b"\0" + private_key() + after) == ()


@given(st.binary(max_size=4096))
def test_any_bytes_scan_without_error(data: bytes) -> None:
    assert set(secrets.scan(data)) <= set(secrets.NAMES)


def _layer(key: bytes) -> bytes:
    return layer_tar([f("etc/app.conf", "x=1\n"), f("root/.ssh/id_rsa", key), f(".env", f"T={github_token()}\n")])


@pytest.mark.parametrize("how", ["none", "gzip", "zstd"])
def test_the_reader_scans_in_its_one_pass_only_when_asked(how: str) -> None:
    blob = compress(_layer(private_key()), how)
    rec = read_layer(io.BytesIO(blob), scan_secrets=True)
    assert rec.secrets == (("root/.ssh/id_rsa", "private-key"), (".env", "github-token"))
    assert [x.path for x in rec.files] == ["etc/app.conf", "root/.ssh/id_rsa", ".env"]
    assert read_layer(io.BytesIO(blob)).secrets is None  # not scanned: unknown, not "none"


def test_the_scan_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    key = private_key()
    late = b"#" * 5000 + b"\n" + key  # the key starts after the head
    binary = b"\x7fELF\0" + key  # a NUL in the first SNIFF bytes: a binary, not read further
    blob = layer_tar([f("big", key + b"#" * 10_000), f("late", late), f("bin", binary), f("small", key)])
    monkeypatch.setattr(secrets, "HEAD", 4096)
    monkeypatch.setattr(secrets, "MAX_FILE", 8192)
    rec = read_layer(io.BytesIO(blob), scan_secrets=True)
    assert rec.secrets == (("small", "private-key"),)  # "big" is over MAX_FILE, "late" past HEAD
    assert secrets.scan(binary) == () and secrets.scan(binary[5:]) == ("private-key",)


def test_the_cache_keeps_findings_only_from_a_scan_by_these_detectors(monkeypatch: pytest.MonkeyPatch, tmp_path):
    layer = _layer(private_key())
    cache = LayerCache(str(tmp_path))
    key = "a file's identity"
    plain = read_layer(io.BytesIO(layer))
    cache.put_local(key, plain)
    assert cache.get_local(key).secrets is None
    assert cache.get_local(key, need_secrets=True) is None  # unscanned: a miss

    scanned = read_layer(io.BytesIO(layer), scan_secrets=True)
    cache.put_local(key, scanned)
    hit = cache.get_local(key, need_secrets=True)
    assert hit is not None and hit.secrets == scanned.secrets
    cache.put_local(key, plain)  # an unscanned read later does not lose them
    assert cache.get_local(key, need_secrets=True).secrets == scanned.secrets

    # Other detectors: the stored findings are not theirs. A miss for a scan, unknown otherwise.
    monkeypatch.setattr(layer_cache, "SECRETS_STAMP", "another-set")
    assert cache.get_local(key, need_secrets=True) is None
    assert cache.get_local(key).secrets is None


def test_records_cross_process_boundaries_with_their_findings() -> None:
    scanned = read_layer(io.BytesIO(_layer(private_key())), scan_secrets=True)
    assert decode_record(encode_record(scanned)).secrets == scanned.secrets
    plain = read_layer(io.BytesIO(_layer(private_key())))
    assert decode_record(encode_record(plain)).secrets is None
    empty = read_layer(io.BytesIO(layer_tar([f("a", "b")])), scan_secrets=True)
    assert decode_record(encode_record(empty)).secrets == ()  # scanned, nothing found


def test_the_stamp_changes_with_any_detector_or_limit() -> None:
    base = secrets.stamp(secrets.DETECTORS, secrets.HEAD, secrets.MAX_FILE)
    assert base == secrets.STAMP
    first = secrets.DETECTORS[0]
    tweaked = (replace(first, pattern=re.compile(first.pattern.pattern + b"?")), *secrets.DETECTORS[1:])
    others = {
        secrets.stamp(tweaked, secrets.HEAD, secrets.MAX_FILE),
        secrets.stamp(secrets.DETECTORS[1:], secrets.HEAD, secrets.MAX_FILE),
        secrets.stamp(secrets.DETECTORS, secrets.HEAD * 2, secrets.MAX_FILE),
        secrets.stamp(secrets.DETECTORS, secrets.HEAD, secrets.MAX_FILE + 1),
    }
    assert len(others) == 4 and base not in others
