"""What verifies a registry's TLS (sources/registry/trust.py): a certs.d file or SSL_CERT_FILE
that OpenSSL would block on or read without end is one line and exit 2, before any connection
(the host here never resolves: the context is made before the first request)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REGISTRY = "registry.invalid:5000"  # .invalid never resolves (RFC 2606)
REF = f"docker://{REGISTRY}/sample/app:1"


def certs_d(home: Path) -> Path:
    directory = home / ".config/containers/certs.d" / REGISTRY
    directory.mkdir(parents=True)
    return directory


def refused(r: Any, *parts: str) -> None:
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err and all(p in r.err for p in parts), r.err


@pytest.mark.parametrize("name", ["ca.crt", "client.cert", "client.key"])
def test_a_fifo_in_certs_d_is_one_line_not_a_hang(name: str, isolated_env: Path, run_cli: Any) -> None:
    directory = certs_d(isolated_env.parent / "home")
    for other in ("client.cert", "client.key"):
        if other != name:
            (directory / other).write_text("not used: the FIFO is refused first\n")
    os.mkfifo(directory / name)
    r = run_cli("inspect", "--manifest-only", REF, timeout=60)  # OpenSSL had blocked opening it for ever
    refused(r, f"{directory / name}", "a FIFO, not a regular file")


def test_ssl_cert_file_of_dev_zero_or_a_fifo_is_one_line(tmp_path: Path, run_cli: Any) -> None:
    fifo = tmp_path / "bundle.pem"
    os.mkfifo(fifo)
    r = run_cli("inspect", "--manifest-only", REF, env={"SSL_CERT_FILE": str(fifo)}, timeout=60)
    refused(r, "SSL_CERT_FILE", "a FIFO")
    r = run_cli("inspect", "--manifest-only", REF, env={"SSL_CERT_FILE": "/dev/zero"}, timeout=60)
    refused(r, "SSL_CERT_FILE /dev/zero", "a character device")


def test_a_huge_certs_d_file_is_refused_unread(isolated_env: Path, run_cli: Any) -> None:
    directory = certs_d(isolated_env.parent / "home")
    with open(directory / "ca.crt", "wb") as fh:
        fh.truncate(8 << 30)  # sparse: no disk
    r = run_cli("inspect", "--manifest-only", REF, timeout=120)
    refused(r, f"{directory / 'ca.crt'}", "too large for a PEM file")


def test_an_encrypted_client_key_is_one_line_not_a_passphrase_prompt(isolated_env: Path, run_cli: Any) -> None:
    """OpenSSL had asked "Enter PEM pass phrase:" on the terminal (an interactive run waited
    there; without a terminal: two prompts and `Invalid argument`). As Docker's certs.d: only
    unencrypted keys."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    directory = certs_d(isolated_env.parent / "home")
    (directory / "client.cert").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encrypted = serialization.BestAvailableEncryption(b"passphrase")
    pkcs8 = serialization.PrivateFormat.PKCS8
    (directory / "client.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, encrypted))
    r = run_cli("inspect", "--manifest-only", REF, timeout=60)
    refused(r, f"{directory / 'client.key'} is encrypted", "must be unencrypted")
    assert "pass phrase" not in r.err
