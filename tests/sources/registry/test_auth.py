"""Authentication against real registries: htpasswd basic auth and the bearer-token flow
with our own issuer; credentials from flags, config.json, credential helpers and
containers' auth.json. Secrets never show up in output, errors or saved analyses."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from layerscope import api
from layerscope.errors import RegistryError
from tests.sources.registry.conftest import PASSWORD, REFRESH_TOKEN, USER, Pushed
from tests.sources.registry.servers import write_helper
from tests.sources.registry.tokens import TokenIssuer

pytestmark = pytest.mark.registry


def docker_config(config_dir: Path, doc: dict[str, Any]) -> None:
    (config_dir / "config.json").write_text(json.dumps(doc))


def basic_auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_no_secrets(*texts: str, extra: tuple[str, ...] = ()) -> None:
    b64 = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for text in texts:
        for secret in (PASSWORD, REFRESH_TOKEN, b64, *extra):
            assert secret not in text


# -- basic auth (htpasswd) -------------------------------------------------------------


def test_basic_auth_without_credentials_is_one_line(basic_image: Pushed, run_cli: Any) -> None:
    r = run_cli("inspect", basic_image.ref)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert "requires authentication" in r.err and "--password-stdin" in r.err


def test_basic_auth_with_flags(basic_image: Pushed, run_cli: Any, tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    r = run_cli(
        "inspect", "--json", "--no-cache", "--username", USER, "--password-stdin", "--save", str(saved),
        basic_image.ref, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    local = json.loads(run_cli("inspect", "--json", f"docker-archive:{basic_image.archive}").out)
    assert doc["totals"]["size"] == local["totals"]["size"] and doc["waste"] == local["waste"]
    assert_no_secrets(r.out, r.err, saved.read_text())


def test_basic_auth_bad_password(basic_image: Pushed, run_cli: Any) -> None:
    for debug in ((), ("--debug",)):
        r = run_cli("inspect", *debug, "--username", USER, "--password-stdin", basic_image.ref, stdin="wrong-pw-x9")
        assert r.code != 0
        assert "refused the credentials of user 'alice'" in r.err
        assert_no_secrets(r.out, r.err, extra=("wrong-pw-x9",))
        if not debug:
            assert r.code == 2 and r.err.count("\n") == 1


def test_username_needs_password_stdin(basic_image: Pushed, run_cli: Any) -> None:
    r = run_cli("inspect", "--username", USER, basic_image.ref)
    assert r.code == 2 and "--password-stdin" in r.err and r.err.count("\n") == 1
    r = run_cli("inspect", "--password-stdin", basic_image.ref, stdin="x")
    assert r.code == 2 and "--username" in r.err


def test_basic_auth_from_config_json(basic_image: Pushed, isolated_env: Path, run_cli: Any) -> None:
    docker_config(isolated_env, {"auths": {f"http://{basic_image.host}/v1/": basic_auth_entry(USER, PASSWORD)}})
    image = api.open_image(basic_image.ref, manifest_only=True)
    assert len(image.layers) == 3
    r = run_cli("inspect", "--json", "--no-cache", basic_image.ref)
    assert r.code == 0, r.err
    assert_no_secrets(r.out, r.err)


def test_credential_helper_from_cred_helpers(
    basic_image: Pushed, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    bin_dir = tmp_path / "bin"
    log = write_helper(bin_dir, "test", basic_image.host, USER, PASSWORD)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # credHelpers beats credsStore (which names a helper that does not exist)
    docker_config(isolated_env, {"credsStore": "absent", "credHelpers": {basic_image.host: "test"}})
    r = run_cli("inspect", "--json", "--no-cache", basic_image.ref)
    assert r.code == 0, r.err
    assert log.read_text().splitlines() == [f"get {basic_image.host}"]
    assert_no_secrets(r.out, r.err)


def test_credential_helper_from_creds_store(
    basic_image: Pushed, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "store", basic_image.host, USER, PASSWORD)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker_config(isolated_env, {"credsStore": "store", "auths": {basic_image.host: {}}})
    assert len(api.open_image(basic_image.ref, manifest_only=True).layers) == 3


def test_failing_helpers_are_named_when_auth_is_refused(
    basic_image: Pushed, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Any
) -> None:
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "other", "elsewhere.example:5000", USER, PASSWORD)  # says "not found" for ours
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker_config(isolated_env, {"credsStore": "missing-helper", "credHelpers": {"other.example": "other"}})
    r = run_cli("inspect", basic_image.ref)
    assert r.code == 2 and r.err.count("\n") == 1
    assert "requires authentication" in r.err and "docker-credential-missing-helper is not on PATH" in r.err


def test_containers_auth_file(basic_image: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {f"{basic_image.host}/private": basic_auth_entry(USER, PASSWORD)}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth))
    assert len(api.open_image(basic_image.ref, manifest_only=True).layers) == 3


# -- bearer tokens from our issuer ---------------------------------------------------------


def test_anonymous_token_for_a_public_repository(token_images: dict[str, Pushed], token_issuer: TokenIssuer) -> None:
    pushed = token_images["public"]
    before = len(token_issuer.requests)
    image = api.open_image(pushed.ref, use_cache=False, verify=True)
    local = api.open_image(f"docker-archive:{pushed.archive}", use_cache=False, verify=True)
    assert [layer.record.files for layer in image.layers if layer.record] == [
        layer.record.files for layer in local.layers if layer.record
    ]
    asked = token_issuer.requests[before:]
    # one token for the whole pull: manifest, config and every layer reuse it
    assert len(asked) == 1
    assert asked[0]["user"] is None and asked[0]["query"]["scope"] == ["repository:public/tok:pull"]


def test_private_repository_needs_credentials(token_images: dict[str, Pushed], run_cli: Any) -> None:
    r = run_cli("inspect", token_images["private"].ref)
    assert r.code == 2 and r.err.count("\n") == 1
    assert "requires authentication for private/tok (or has no such repository)" in r.err


def test_token_with_user_credentials(
    token_images: dict[str, Pushed], token_issuer: TokenIssuer, tmp_path: Path, run_cli: Any
) -> None:
    pushed = token_images["private"]
    saved = tmp_path / "a.json"
    before = len(token_issuer.issued)
    r = run_cli(
        "inspect", "--json", "--no-cache", "--save", str(saved), "--username", USER, "--password-stdin", pushed.ref,
        stdin=PASSWORD,
    )  # fmt: skip
    assert r.code == 0, r.err
    issued = tuple(token_issuer.issued[before:])
    assert len(issued) == 1
    assert token_issuer.requests[-1]["query"]["account"] == [USER]
    assert_no_secrets(r.out, r.err, saved.read_text(), extra=issued)


def test_token_with_bad_password(token_images: dict[str, Pushed], run_cli: Any) -> None:
    r = run_cli("inspect", "--username", USER, "--password-stdin", token_images["private"].ref, stdin="nope-x7")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "refused the credentials of user 'alice'" in r.err
    assert_no_secrets(r.out, r.err, extra=("nope-x7",))


def test_identity_token_from_a_helper(
    token_images: dict[str, Pushed],
    token_issuer: TokenIssuer,
    isolated_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Any,
) -> None:
    """A helper answering Username "<token>" gives an OAuth2 refresh token: exchanged by POST."""
    pushed = token_images["private"]
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "idtoken", pushed.host, "<token>", REFRESH_TOKEN)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker_config(isolated_env, {"credHelpers": {pushed.host: "idtoken"}})
    before = len(token_issuer.issued)
    r = run_cli("inspect", "--json", "--no-cache", pushed.ref)
    assert r.code == 0, r.err
    post = token_issuer.requests[-1]
    assert post["method"] == "POST" and post["grant"] == "refresh_token" and post["user"] == USER
    assert_no_secrets(r.out, r.err, extra=tuple(token_issuer.issued[before:]))


def test_api_errors_carry_no_secret(token_images: dict[str, Pushed]) -> None:
    with pytest.raises(RegistryError) as err:
        api.open_image(token_images["private"].ref, username=USER, password="bad-" + PASSWORD, manifest_only=True)
    assert PASSWORD not in str(err.value) and PASSWORD not in repr(err.value)


def test_expired_tokens_are_fetched_again(token_images: dict[str, Pushed], token_issuer: TokenIssuer) -> None:
    from layerscope.sources.registry.handle import RegistryHandle

    pushed = token_images["public"]
    token_issuer.expires_in = 1
    handle = RegistryHandle(pushed.ref.removeprefix("docker://"), pushed.ref)
    try:
        before = len(token_issuer.requests)
        manifest = handle.resolve(None)
        handle.config_bytes(manifest)
        assert len(token_issuer.requests) == before + 1  # still valid: reused
        time.sleep(1.2)
        handle.config_bytes(manifest)
        assert len(token_issuer.requests) == before + 2
    finally:
        token_issuer.expires_in = 300
        handle.close()


def test_a_token_the_registry_rejects_is_fetched_again_once(
    token_images: dict[str, Pushed], token_issuer: TokenIssuer
) -> None:
    """A cached token the registry no longer takes (expired by its clock, not ours: a real JWT
    past its exp) gets one fresh token; when that is refused too, one clear error, no loop."""
    from layerscope.sources.registry.auth import _Token
    from layerscope.sources.registry.handle import RegistryHandle
    from layerscope.sources.registry.secret import Secret

    pushed = token_images["public"]
    handle = RegistryHandle(pushed.ref.removeprefix("docker://"), pushed.ref)
    try:
        manifest = handle.resolve(None)
        tokens = handle.client.auth._tokens
        [key] = tokens
        assert key[2] == "repository:public/tok:pull"
        stale = token_issuer.sign("", token_issuer.grant(None, [key[2]]), lifetime=-120)
        tokens[key] = _Token(Secret(stale), tokens[key].expires)
        before = len(token_issuer.requests)
        assert handle.config_bytes(manifest)
        assert len(token_issuer.requests) == before + 1
        token_issuer.lifetime = -120  # every token the issuer gives is stale now
        tokens[key] = _Token(Secret(stale), tokens[key].expires)
        with pytest.raises(RegistryError, match="requires authentication for public/tok"):
            handle.config_bytes(manifest)
        assert len(token_issuer.requests) == before + 2
    finally:
        token_issuer.lifetime = 300
        handle.close()


def test_nested_repository_names_get_their_own_scope(
    token_registry: Any, token_issuer: TokenIssuer, registry_dir: Path
) -> None:
    from tests.sources.registry.images import push_archive, sample_spec

    host = token_registry.host
    for repo in ("public/team/sub/tok:1", "public/team/tok:1"):
        push_archive(sample_spec(repo), host, repo, registry_dir, f"{USER}:{PASSWORD}")
    before = len(token_issuer.requests)
    deep = api.open_image(f"docker://{host}/public/team/sub/tok:1", manifest_only=True)
    shallow = api.open_image(f"docker://{host}/public/team/tok:1", manifest_only=True)
    assert deep.digest != shallow.digest
    scopes = [r["query"]["scope"] for r in token_issuer.requests[before:]]
    assert scopes == [["repository:public/team/sub/tok:pull"], ["repository:public/team/tok:pull"]]


def test_no_secret_reaches_the_cache(
    basic_image: Pushed, token_images: dict[str, Pushed], token_issuer: TokenIssuer, tmp_path: Path, run_cli: Any
) -> None:
    """Whatever the cache keeps of a private image (per-layer results, keys), no credential:
    not the password, not its Basic encoding, not a bearer token."""
    cache = tmp_path / "cache"
    before = len(token_issuer.issued)
    for pushed in (basic_image, token_images["private"]):
        for command in ("inspect", "packages"):
            r = run_cli(
                command, "--username", USER, "--password-stdin", pushed.ref, stdin=PASSWORD,
                env={"LAYERSCOPE_CACHE_DIR": str(cache)},
            )  # fmt: skip
            assert r.code == 0, r.err
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files  # the layers were cached
    issued = tuple(token_issuer.issued[before:])
    assert issued
    for path in files:
        assert_no_secrets(path.read_bytes().decode("latin-1"), path.name, extra=issued)


def test_parallel_requests_share_one_fresh_token(token_images: dict[str, Pushed], token_issuer: TokenIssuer) -> None:
    """Layers download in parallel: when their shared token is rejected, one fresh token is
    fetched for all of them (not one each, and none throws away another's fresh token)."""
    from concurrent.futures import ThreadPoolExecutor

    from layerscope.sources.registry.auth import _Token
    from layerscope.sources.registry.handle import RegistryHandle
    from layerscope.sources.registry.secret import Secret

    pushed = token_images["public"]
    handle = RegistryHandle(pushed.ref.removeprefix("docker://"), pushed.ref)
    try:
        manifest = handle.resolve(None)
        tokens = handle.client.auth._tokens
        [key] = tokens
        stale = token_issuer.sign("", token_issuer.grant(None, [key[2]]), lifetime=-120)
        tokens[key] = _Token(Secret(stale), tokens[key].expires)
        before = len(token_issuer.requests)
        with ThreadPoolExecutor(8) as pool:
            configs = list(pool.map(lambda _: handle.config_bytes(manifest), range(16)))
        assert len(set(configs)) == 1
        assert len(token_issuer.requests) == before + 1
    finally:
        handle.close()


@pytest.mark.parametrize("command", ["check", "packages"])
def test_other_commands_read_a_private_image(basic_image: Pushed, command: str, run_cli: Any) -> None:
    """`check` (exit 0 or 1: a verdict, not an error) and `packages` take the same credentials."""
    r = run_cli(command, "--username", USER, "--password-stdin", basic_image.ref, stdin=PASSWORD)
    assert r.code in (0, 1), r.err
    assert basic_image.ref in r.out
    assert_no_secrets(r.out, r.err)
