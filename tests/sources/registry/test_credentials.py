"""Finding credentials: config.json `auths` / `credsStore` / `credHelpers` (with real
helper programs), containers' auth.json, and the order between them."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from layerscope.sources.registry.credentials import Credentials, CredentialStore
from layerscope.sources.registry.secret import Secret
from tests.sources.registry.servers import write_helper


def entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def lookup(registry: str, repository: str = "a/b") -> Credentials | None:
    return CredentialStore().lookup(registry, repository).credentials


@pytest.fixture
def config(isolated_env: Path) -> Path:
    return isolated_env / "config.json"


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    return path


def test_auths_keys_as_docker_login_writes_them(config: Path) -> None:
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": entry("hubuser", "hubpw"),
                    "reg.example:5000": entry("u1", "p:with:colons"),
                    "https://other.example/v2/": {"username": "u2", "password": "p2"},
                }
            }
        )
    )
    hub = lookup("docker.io", "library/python")
    assert hub is not None and (hub.username, hub.secret.reveal()) == ("hubuser", "hubpw")
    reg = lookup("reg.example:5000")
    assert reg is not None and (reg.username, reg.secret.reveal()) == ("u1", "p:with:colons")
    other = lookup("other.example")
    assert other is not None and other.username == "u2"
    assert lookup("nothing.example") is None


def test_identity_token_entry(config: Path) -> None:
    config.write_text(json.dumps({"auths": {"reg.example": {"auth": "", "identitytoken": "refresh-xyz"}}}))
    creds = lookup("reg.example")
    assert creds is not None and creds.identity_token and creds.secret.reveal() == "refresh-xyz"


def test_helper_order(config: Path, bin_dir: Path) -> None:
    """credHelpers[host] first, then credsStore, then the auths entry."""
    write_helper(bin_dir, "store", "reg.example", "from-store", "s1")
    write_helper(bin_dir, "special", "reg.example", "from-helper", "s2")
    config.write_text(json.dumps({"credsStore": "store", "auths": {"reg.example": entry("from-auths", "s3")}}))
    assert (creds := lookup("reg.example")) is not None and creds.username == "from-store"
    assert creds.source == "docker-credential-store"
    config.write_text(json.dumps({"credsStore": "store", "credHelpers": {"reg.example": "special"}}))
    assert (creds := lookup("reg.example")) is not None and creds.username == "from-helper"
    # a store that has nothing for this host falls back to the auths entry
    config.write_text(
        json.dumps({"credsStore": "store", "auths": {"elsewhere.example": {}, "x.example": entry("a", "b")}})
    )
    assert (creds := lookup("x.example")) is not None and creds.username == "a"


def test_hub_helper_is_asked_for_the_historical_server_url(config: Path, bin_dir: Path) -> None:
    log = write_helper(bin_dir, "hub", "https://index.docker.io/v1/", "<token>", "idtok")
    config.write_text(json.dumps({"credsStore": "hub"}))
    creds = lookup("docker.io", "library/python")
    assert creds is not None and creds.identity_token and creds.username == ""
    assert log.read_text().split() == ["get", "https://index.docker.io/v1/"]


def test_problems_are_kept_not_fatal(config: Path, bin_dir: Path) -> None:
    broken = bin_dir / "docker-credential-broken"
    broken.write_text("#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    config.write_text(json.dumps({"credsStore": "broken", "auths": {"reg.example": {"auth": "!!notbase64"}}}))
    result = CredentialStore().lookup("reg.example", "a/b")
    assert result.credentials is None
    assert result.problems == (
        "credential helper docker-credential-broken failed: keychain locked",
        f"the auth entry in {config} (reg.example) is not base64 of user:password",
    )
    config.write_text("{not json")
    assert CredentialStore().lookup("reg.example", "a").problems == (f"{config} is not valid JSON",)


def test_containers_auth_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Path) -> None:
    runtime = tmp_path / "run"
    (runtime / "containers").mkdir(parents=True)
    (runtime / "containers" / "auth.json").write_text(
        json.dumps({"auths": {"reg.example/team": entry("team", "t"), "reg.example": entry("any", "a")}})
    )
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert (c := lookup("reg.example", "team/app")) is not None and c.username == "team"  # most specific key
    assert (c := lookup("reg.example", "other/app")) is not None and c.username == "any"
    # Docker's config.json comes before the default containers file ...
    config.write_text(json.dumps({"auths": {"reg.example": entry("docker", "d")}}))
    assert (c := lookup("reg.example", "team/app")) is not None and c.username == "docker"
    # ... but an explicit REGISTRY_AUTH_FILE comes first
    explicit = tmp_path / "explicit.json"
    explicit.write_text(json.dumps({"auths": {"reg.example": entry("explicit", "e")}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(explicit))
    assert (c := lookup("reg.example", "team/app")) is not None and c.username == "explicit"


def test_flags_win(config: Path) -> None:
    config.write_text(json.dumps({"auths": {"reg.example": entry("file", "f")}}))
    explicit = Credentials("flag", Secret("pw"), source="--username")
    assert CredentialStore(explicit).lookup("reg.example", "a").credentials == explicit


def test_secrets_do_not_print() -> None:
    creds = Credentials("u", Secret("hunter2"))
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds) and "hunter2" not in f"{creds.secret}"
