"""The leaky image built for real: each engine's BuildKit builds a busybox image whose
`COPY . /app/` brings a .git/, a .env with a token and a private key that the next RUN
deletes; check fails naming each finding, read from the engine and from its save."""

from __future__ import annotations

import json

import pytest

from tests.engines import BASE_IMAGE
from tests.support import leaky

NAME = "layerscope-test/leaky:1"
HIDDEN = "hidden by layer 2 (still in layer 1's blob)"


@pytest.fixture(scope="session")
def built(engine, tmp_path_factory):
    ctx = tmp_path_factory.mktemp(f"leaky-{engine.id}")
    secrets = leaky.write_context(ctx / "ctx", BASE_IMAGE)
    engine.build(ctx / "ctx", NAME)
    (ctx / ".layerscope.toml").write_text(leaky.CONFIG)
    return ctx, secrets


@pytest.mark.docker
@pytest.mark.parametrize("source", ["docker-daemon", "docker-archive"])
def test_a_real_build_that_ships_secrets_fails_check(engine, built, run_cli, source):
    ctx, secrets = built
    ref = f"docker-daemon:{NAME}"
    if source == "docker-archive":
        ref = f"docker-archive:{engine.save(NAME, ctx / 'leaky.tar')}"
    cfg = str(ctx / ".layerscope.toml")
    r = run_cli("check", "--config", cfg, "--no-cache", ref, env=engine.env)
    assert r.code == 1, r.out + r.err
    for line in [
        "/app/.git: glob **/.git/, layer 1",
        "/app/.env: glob **/.env, layer 1",
        f"/app/id_rsa: glob **/id_rsa, layer 1, {HIDDEN}",
        "/app/.env: github-token, layer 1",
        f"/app/id_rsa: private-key, layer 1, {HIDDEN}",
        "config Env API_TOKEN: set to a literal value",
    ]:
        assert f"          {line}" in r.out.splitlines(), r.out
    assert any(
        x.strip().startswith("history #") and "API_TOKEN: set to a literal value" in x for x in r.out.splitlines()
    )
    for value in secrets.values():
        shown = value.decode().splitlines()[1] if value.startswith(b"-----") else value.decode()
        assert shown not in r.out

    doc = json.loads(run_cli("check", "--json", "--config", cfg, ref, env=engine.env).out)
    found = {
        (f["kind"], f["detector"], f["path"], f["layer"], f["hidden"], f["hidden_by"])
        for x in doc["results"]
        for f in x["findings"]
        if f["path"]
    }
    assert found == {
        ("path", "**/.git/", "app/.git", 1, False, None),
        ("path", "**/.env", "app/.env", 1, False, None),
        ("path", "**/id_rsa", "app/id_rsa", 1, True, 2),
        ("file", "github-token", "app/.env", 1, False, None),
        ("file", "private-key", "app/id_rsa", 1, True, 2),
    }
