"""Session fixtures: real docker-registry instances (anonymous, htpasswd, token), the
token issuer, and images pushed into them with skopeo."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from layerscope.sources.registry.blobs import BlobStream
from tests.sources.registry.images import large_spec, push_archive, push_multi, push_oci, sample_spec
from tests.sources.registry.tokens import TokenIssuer
from tests.support.factory import ImageSpec
from tests.support.registry import Registry, registry_dir, tls_registry

USER = "alice"
# Random per run, so that a leak test can look for the exact strings.
PASSWORD = "pw-" + secrets.token_hex(12)
REFRESH_TOKEN = "refresh-" + secrets.token_hex(12)
__all__ = ["registry_dir", "tls_registry"]  # session fixtures shared with tests/fleet (tests/support/registry.py)


@dataclass
class Pushed:
    host: str
    repo: str  # with its tag
    spec: ImageSpec
    archive: Path | None = None
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"docker://{self.host}/{self.repo}"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the user's credentials or Docker engine; returns the DOCKER_CONFIG dir."""
    config = tmp_path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", "")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    for name in ("LAYERSCOPE_REGISTRY_TIMEOUT", "LAYERSCOPE_REGISTRY_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture(scope="session")
def anon_registry(registry_dir: Path) -> Iterator[Registry]:
    registry = Registry(registry_dir / "anon")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def basic_registry(registry_dir: Path) -> Iterator[Registry]:
    work = registry_dir / "basic"
    work.mkdir()
    htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, check=True).stdout
    (work / "htpasswd").write_bytes(htpasswd)
    registry = Registry(work, {"htpasswd": {"realm": "test-realm", "path": str(work / "htpasswd")}})
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def token_issuer(registry_dir: Path) -> Iterator[TokenIssuer]:
    work = registry_dir / "issuer"
    work.mkdir()
    issuer = TokenIssuer(work, {USER: PASSWORD}, {REFRESH_TOKEN: USER}, anonymous_prefix="public/")
    yield issuer
    issuer.close()


@pytest.fixture(scope="session")
def token_registry(registry_dir: Path, token_issuer: TokenIssuer) -> Iterator[Registry]:
    registry = Registry(registry_dir / "token", token_issuer.registry_auth_config())
    yield registry
    registry.stop()


def _pushed(spec: ImageSpec, registry: Registry, ref: str, registry_dir: Path, creds: str | None = None) -> Pushed:
    """`spec` saved as a docker-archive and pushed to `registry` as `ref`."""
    archive = push_archive(spec, registry.host, ref, registry_dir, creds)
    return Pushed(registry.host, ref, spec, archive)


@pytest.fixture(scope="session")
def plain_image(anon_registry: Registry, registry_dir: Path) -> Pushed:
    return _pushed(sample_spec("plain"), anon_registry, "sample/plain:1", registry_dir)


@pytest.fixture(scope="session")
def large_image(anon_registry: Registry, registry_dir: Path) -> Pushed:
    return _pushed(large_spec("large"), anon_registry, "sample/large:1", registry_dir)


@pytest.fixture(scope="session")
def tls_large_image(tls_registry: Registry, registry_dir: Path) -> Pushed:
    return _pushed(large_spec("tls-large"), tls_registry, "sample/tls-large:1", registry_dir)


@pytest.fixture(scope="session")
def zstd_image(anon_registry: Registry, registry_dir: Path) -> Pushed:
    spec = sample_spec("zstd")
    archive = registry_dir / "zstd.tar"
    spec.docker_archive(str(archive))
    push_oci(spec, anon_registry.host, "sample/zstd:1", registry_dir, "zstd")
    return Pushed(anon_registry.host, "sample/zstd:1", spec, archive)


@pytest.fixture(scope="session")
def multi_image(anon_registry: Registry, registry_dir: Path) -> Pushed:
    specs = [sample_spec("amd64", "amd64"), sample_spec("arm64", "arm64")]
    digests = push_multi(specs, anon_registry.host, "sample/multi:1", registry_dir)
    return Pushed(anon_registry.host, "sample/multi:1", specs[0], None, digests)


@pytest.fixture(scope="session")
def tls_image(tls_registry: Registry, registry_dir: Path) -> Pushed:
    """Pushed over HTTPS, skopeo not checking the self-signed certificate (--dest-tls-verify=false)."""
    return _pushed(sample_spec("tls"), tls_registry, "sample/tls:1", registry_dir)


@pytest.fixture(scope="session")
def basic_image(basic_registry: Registry, registry_dir: Path) -> Pushed:
    return _pushed(sample_spec("basic"), basic_registry, "private/basic:1", registry_dir, f"{USER}:{PASSWORD}")


@pytest.fixture(scope="session")
def token_images(token_registry: Registry, registry_dir: Path) -> dict[str, Pushed]:
    out = {}
    for repo in ("public/tok:1", "private/tok:1"):
        spec = sample_spec(repo)
        archive = push_archive(spec, token_registry.host, repo, registry_dir, f"{USER}:{PASSWORD}")
        out[repo.split("/")[0]] = Pushed(token_registry.host, repo, spec, archive)
    return out


class DirectSpy:
    """Counts the direct path's socket reads, so a test fails if the stream silently took h11."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.by: list[str] = []  # the streams (`what`) that took the direct path, once per request
        real = BlobStream._receive_direct

        def spy(stream: BlobStream, *args: object) -> None:
            self.by.append(stream.what)
            real(stream, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(BlobStream, "_receive_direct", spy)

    @property
    def calls(self) -> int:
        return len(self.by)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> DirectSpy:
    """Which streams took the large-blob direct path (a test fails if one silently took h11)."""
    return DirectSpy(monkeypatch)
