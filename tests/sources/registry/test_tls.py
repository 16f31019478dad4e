"""A registry that speaks TLS: the real docker-registry with a self-signed certificate made
for the session (tests/support/registry.py), reached off loopback (where the certificate
is checked unless --insecure) and on 127.0.0.1 (never checked, as Docker does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from layerscope.sources.registry import blobs
from layerscope.sources.registry.blobs import BlobStream
from layerscope.sources.registry.handle import RegistryHandle
from layerscope.sources.registry.options import RegistryOptions
from tests.sources.registry.conftest import DirectSpy, Pushed
from tests.sources.registry.servers import Registry
from tests.support.registry import outward_address

pytestmark = pytest.mark.registry
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def off_loopback(registry: Registry, pushed: Pushed) -> str:
    address = outward_address()
    assert address is not None  # the tls_registry fixture skips without one
    return f"docker://{address}:{registry.port}/{pushed.repo}"


def pushed_layers(registry: Registry, pushed: Pushed) -> list[str]:
    """The layer digests of the manifest skopeo pushed, as the registry serves it."""
    repo, tag = pushed.repo.split(":")
    response = httpx.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": DOCKER_MANIFEST}, verify=False, timeout=10
    )
    response.raise_for_status()
    return [layer["digest"] for layer in response.json()["layers"]]


def test_a_self_signed_certificate_off_loopback_is_one_line(
    tls_registry: Registry, tls_image: Pushed, run_cli: Any
) -> None:
    r = run_cli("inspect", "--manifest-only", off_loopback(tls_registry, tls_image))
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert r.err.startswith("layerscope: cannot verify the TLS certificate of ")
    assert "self-signed certificate" in r.err and "pass --insecure" in r.err
    assert "_ssl.c" not in r.err and "Traceback" not in r.err


def test_insecure_reads_the_whole_image_over_tls(tls_registry: Registry, tls_image: Pushed, run_cli: Any) -> None:
    ref = off_loopback(tls_registry, tls_image)
    r = run_cli("inspect", "--json", "--no-cache", "--insecure", ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["reference"] == ref and doc["manifest_only"] is False
    assert [layer["digest"] for layer in doc["layers"]] == pushed_layers(tls_registry, tls_image)
    local = json.loads(run_cli("inspect", "--json", f"docker-archive:{tls_image.archive}").out)
    assert [layer["diff_id"] for layer in doc["layers"]] == [layer["diff_id"] for layer in local["layers"]]
    assert doc["totals"]["size"] == local["totals"]["size"] and doc["waste"] == local["waste"]


def test_loopback_needs_no_insecure(tls_registry: Registry, tls_image: Pushed, run_cli: Any) -> None:
    """The port speaks only TLS, so an answer means the client chose https and did not
    check the certificate (loopback registries are insecure ones, as for Docker)."""
    r = run_cli("inspect", "--json", "--no-cache", tls_image.ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert tls_image.host.startswith("127.0.0.1:")
    assert [layer["digest"] for layer in doc["layers"]] == pushed_layers(tls_registry, tls_image)
    assert all(layer["files"] for layer in doc["layers"])  # contents were read, not only the manifest


def test_a_trusted_certificate_is_verified(tls_registry: Registry, tls_image: Pushed, run_cli: Any) -> None:
    """The verifying client: with the certificate as its CA bundle, no --insecure is needed."""
    assert tls_registry.cert is not None
    ref = off_loopback(tls_registry, tls_image)
    r = run_cli("inspect", "--json", "--manifest-only", ref, env={"SSL_CERT_FILE": str(tls_registry.cert)})
    assert r.code == 0, r.err
    assert [layer["digest"] for layer in json.loads(r.out)["layers"]] == pushed_layers(tls_registry, tls_image)


def test_a_large_blob_is_read_from_the_tls_socket(
    tls_registry: Registry, tls_large_image: Pushed, monkeypatch: pytest.MonkeyPatch, spy: DirectSpy
) -> None:
    """The direct path (recv_into, past h11) on a TLS socket: the decrypted bytes, hashed right."""
    monkeypatch.setattr(blobs, "DIRECT_MIN", 1)
    monkeypatch.setattr(blobs, "DIRECT_BUFFER", 70_000)
    location = off_loopback(tls_registry, tls_large_image).removeprefix("docker://")
    handle = RegistryHandle(location, tls_large_image.ref, RegistryOptions.create(insecure=True))
    try:
        assert handle.client._base_url().startswith("https://")
        desc = max(handle.resolve(None).layers, key=lambda d: d.size or 0)
        want = tls_registry.blob_path(desc.digest or "").read_bytes()
        with BlobStream(handle.client, desc, "layer 0") as stream:
            assert stream.read() == want and stream.digest() == desc.digest
        assert spy.by == ["layer 0"]
    finally:
        handle.close()


def certs_d(home: Path, registry: Registry) -> Path:
    """containers-certs.d(5) in the test's $HOME: ~/.config/containers/certs.d/HOST:PORT/."""
    address = outward_address()
    directory = home / ".config/containers/certs.d" / f"{address}:{registry.port}"
    directory.mkdir(parents=True)
    return directory


def test_the_error_says_where_to_put_the_ca(tls_registry: Registry, tls_image: Pushed, run_cli: Any) -> None:
    r = run_cli("inspect", "--manifest-only", off_loopback(tls_registry, tls_image))
    host = f"{outward_address()}:{tls_registry.port}"
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"/etc/docker/certs.d/{host}/ca.crt" in r.err and f"~/.config/containers/certs.d/{host}/" in r.err


def test_a_ca_in_certs_d_is_trusted(
    tls_registry: Registry, tls_image: Pushed, isolated_env: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Docker's /etc/docker/certs.d/HOST:PORT/ca.crt: no --insecure, no SSL_CERT_FILE, verified."""
    assert tls_registry.cert is not None
    home = isolated_env.parent / "home"
    directory = certs_d(home, tls_registry)
    (directory / "ca.crt").write_bytes(tls_registry.cert.read_bytes())
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    r = run_cli("inspect", "--json", "--manifest-only", off_loopback(tls_registry, tls_image))
    assert r.code == 0, r.err
    assert [layer["digest"] for layer in json.loads(r.out)["layers"]] == pushed_layers(tls_registry, tls_image)
    # Another registry's directory does not vouch for this one.
    directory.rename(directory.with_name(f"{outward_address()}:1"))
    r = run_cli("inspect", "--json", "--manifest-only", off_loopback(tls_registry, tls_image))
    assert r.code == 2 and "cannot verify the TLS certificate" in r.err


def test_a_broken_certs_d_file_is_one_line(
    tls_registry: Registry, tls_image: Pushed, isolated_env: Path, run_cli: Any
) -> None:
    directory = certs_d(isolated_env.parent / "home", tls_registry)
    (directory / "ca.crt").write_text("not a certificate\n")
    r = run_cli("inspect", "--manifest-only", off_loopback(tls_registry, tls_image))
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"cannot load {directory / 'ca.crt'}" in r.err
    (directory / "ca.crt").unlink()
    (directory / "client.cert").write_bytes(b"")
    r = run_cli("inspect", "--manifest-only", off_loopback(tls_registry, tls_image))
    assert r.code == 2 and "has no client.key beside it" in r.err and r.err.count("\n") == 1


def client_certificates(workdir: Path) -> tuple[Path, Path, Path]:
    """A client CA, and a certificate and key it signed (clientAuth), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layerscope test client CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1)).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = workdir / "client-ca.pem", workdir / "client.cert", workdir / "client.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8 = serialization.PrivateFormat.PKCS8
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def mtls_registry(registry_dir: Path) -> Iterator[tuple[Registry, Path, Path]]:
    """A real registry over TLS that requires a client certificate; (registry, client cert, key)."""
    if outward_address() is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    work = registry_dir / "mtls"
    work.mkdir()
    ca, cert, key = client_certificates(work)
    registry = Registry(work, tls=True, client_auth=(ca, cert, key))
    yield registry, cert, key
    registry.stop()


def test_a_client_certificate_from_certs_d(
    mtls_registry: tuple[Registry, Path, Path], isolated_env: Path, run_cli: Any
) -> None:
    """certs.d/HOST:PORT/ with ca.crt (the server's CA) and client.cert + client.key, as
    Docker and skopeo read it: the registry that demands a client certificate answers."""
    registry, cert, key = mtls_registry
    assert registry.cert is not None
    ref = f"docker://{outward_address()}:{registry.port}/sample/none:1"
    directory = certs_d(isolated_env.parent / "home", registry)
    (directory / "ca.crt").write_bytes(registry.cert.read_bytes())
    r = run_cli("inspect", "--manifest-only", ref)  # no client certificate: one line saying what to do
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert "refused the TLS connection (manifest 1): sslv3 alert bad certificate" in r.err
    assert f"put NAME.cert and NAME.key in /etc/docker/certs.d/{outward_address()}:{registry.port}/" in r.err
    (directory / "client.cert").write_bytes(cert.read_bytes())
    (directory / "client.key").write_bytes(key.read_bytes())
    r = run_cli("inspect", "--manifest-only", ref)
    # The handshake went through: the registry itself says the repository is not there.
    assert r.code == 2 and "not found in" in r.err and "404" in r.err, r.err
