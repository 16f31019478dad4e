"""check's forbid-paths and forbid-secrets, and inspect's warnings, on an image that ships a
.git/, a .env with a token and a private key deleted by a later layer (crafted archive: no
engine). Every output names each finding; none shows a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.leaky import CONFIG, crafted

KEY_FINDING = "/app/id_rsa: private-key, layer 1, hidden by layer 2 (still in layer 1's blob)"


@pytest.fixture
def leaky(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    image = tmp_path / "leaky.tar"
    found = crafted(image)
    (tmp_path / ".layerscope.toml").write_text(CONFIG)
    return image, found


def _no_secret_in(text: str, secrets: dict[str, bytes]) -> None:
    for value in secrets.values():
        head = value.decode().splitlines()[1] if value.startswith(b"-----") else value.decode()
        assert head not in text  # a key's first base64 line, a whole token


def test_check_fails_naming_each_finding(leaky, run_cli, tmp_path: Path) -> None:
    image, secrets = leaky
    cfg = str(tmp_path / ".layerscope.toml")
    junit, md = tmp_path / "out.xml", tmp_path / "out.md"
    r = run_cli("check", "--config", cfg, "--junit", str(junit), "--markdown", str(md), "--github", str(image))
    assert r.code == 1, r.err
    lines = r.out.splitlines()
    paths = lines.index(
        "  FAIL  forbid-paths: 3 forbidden path(s), 1 of them hidden by a later layer (still in the pulled blobs) "
        "(limit **/.git/, **/.env, **/id_rsa, **/*.pem, .layerscope.toml [images.app])"
    )
    assert lines[paths + 1 : paths + 4] == [
        "          /app/.git: glob **/.git/, layer 1",
        "          /app/.env: glob **/.env, layer 1",
        "          /app/id_rsa: glob **/id_rsa, layer 1, hidden by layer 2 (still in layer 1's blob)",
    ]
    secrets_at = next(i for i, x in enumerate(lines) if x.startswith("  FAIL  forbid-secrets: 7 secret(s), 1 of them"))
    assert [x.strip() for x in lines[secrets_at + 1 : secrets_at + 8]] == [
        "/app/.env: github-token, layer 1",
        KEY_FINDING,
        "config Env API_TOKEN: set to a literal value",
        "config Env UPLOAD_ID: aws-access-key-id",
        "history #2 NPM_TOKEN: set to a literal value",
        "history #3 (layer 2) NPM_TOKEN: set to a literal value",
        "history #4 API_TOKEN: set to a literal value",
    ]
    assert f"::error title=layerscope app forbid-secrets::{KEY_FINDING}" in lines
    assert "::error title=layerscope app forbid-paths::/app/.git: glob **/.git/, layer 1" in lines
    assert sum(1 for x in lines if x.startswith("::error")) == 10  # one per finding
    xml = junit.read_text()
    assert KEY_FINDING.replace("'", "&apos;") in xml or KEY_FINDING in xml
    summary = md.read_text()
    assert "| /app/id\\_rsa | private-key | 1 | yes (layer 2) |" in summary
    assert "| /app/.git | glob \\*\\*/.git/ | 1 | no |" in summary
    for out in (r.out, r.err, xml, summary):
        _no_secret_in(out, secrets)


def test_check_json_lists_every_finding(leaky, run_cli, tmp_path: Path) -> None:
    image, secrets = leaky
    r = run_cli("check", "--json", "--config", str(tmp_path / ".layerscope.toml"), str(image))
    assert r.code == 1
    doc = json.loads(r.out)
    by_rule = {x["rule"]: x for x in doc["results"]}
    assert by_rule["forbid-paths"]["status"] == "fail" and by_rule["forbid-paths"]["actual"] == 3
    key = {
        "kind": "file",
        "detector": "private-key",
        "path": "app/id_rsa",
        "layer": 1,
        "hidden": True,
        "hidden_by": 2,
        "name": None,
        "history_index": None,
    }
    assert key in by_rule["forbid-secrets"]["findings"]
    assert len(by_rule["forbid-secrets"]["findings"]) == 7
    _no_secret_in(r.out, secrets)


def test_a_clean_image_passes(run_cli, tmp_path: Path) -> None:
    from tests.support.factory import ImageSpec, f, layer_tar

    image = ImageSpec([layer_tar([f("app/main.py", "print()")])]).docker_archive(str(tmp_path / "clean.tar"))
    (tmp_path / ".layerscope.toml").write_text(CONFIG)
    r = run_cli("check", "--config", str(tmp_path / ".layerscope.toml"), image)
    assert r.code == 0, r.out
    assert "  PASS  forbid-paths: no forbidden path" in r.out
    assert "  PASS  forbid-secrets: no secret found (file heads, Env, history)" in r.out


def test_a_scan_is_not_taken_from_an_unscanned_cache(leaky, run_cli, tmp_path: Path) -> None:
    """inspect fills the layer cache without reading contents; check must not read that as "no secrets"."""
    image, _ = leaky
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("inspect", str(image), env=env).code == 0
    cfg = str(tmp_path / ".layerscope.toml")
    for _ in range(2):  # cold (layers read again, scanned), then warm (the scanned records)
        r = run_cli("check", "--json", "--config", cfg, str(image), env=env)
        status = {x["rule"]: (x["status"], x["actual"]) for x in json.loads(r.out)["results"]}
        assert status["forbid-secrets"] == ("fail", 7)


def test_inspect_warns_of_paths_and_config_secrets_and_scans_files_when_asked(leaky, run_cli) -> None:
    image, secrets = leaky
    plain = run_cli("inspect", str(image))
    assert plain.code == 0, plain.err
    assert (
        "Warnings: 3 path(s) that should not ship, 5 secret(s) (1 hidden by a later layer: still in the pulled blobs):"
        in plain.out
    )
    assert "  /app/id_rsa: glob **/id_rsa, layer 1, hidden by layer 2" in plain.out
    assert "private-key" not in plain.out  # contents were not read
    assert "  (paths: the default globs; file contents not scanned: inspect --secrets)" in plain.out
    scanned = run_cli("inspect", "--secrets", str(image))
    assert f"  {KEY_FINDING}" in scanned.out and "  /app/.env: github-token, layer 1" in scanned.out
    assert "not scanned" not in scanned.out
    doc = json.loads(run_cli("inspect", "--json", "--secrets", str(image)).out)
    assert doc["exposure"]["secrets_scanned"] is True and len(doc["exposure"]["findings"]) == 10
    for out in (plain.out, scanned.out):
        _no_secret_in(out, secrets)


def test_bad_forbid_settings_are_usage_errors(run_cli, tmp_path: Path) -> None:
    cfg = tmp_path / ".layerscope.toml"
    cfg.write_text('[images.app]\nforbid-paths = []\nforbid-secrets = ["private-key", "palm-reading"]\n')
    r = run_cli("check", "--config", str(cfg), "x.tar")
    assert r.code == 2 and "Traceback" not in r.err
    assert "forbid-paths: expected at least one glob" in r.err
    assert "forbid-secrets: expected true or a list of detectors from private-key" in r.err and "palm-reading" in r.err
