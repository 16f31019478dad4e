"""--platform on Docker 25+ saves (real engine output, vendored in tests/fixtures/modern-docker)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("layout", ["docker25", "containerd"])
def test_the_host_platform_can_be_named(fixtures_dir, layout, run_cli):
    # Docker 25+ overlay2 saves list the manifest without a platform: the config's decides.
    path = fixtures_dir / "modern-docker" / f"docker-save-{layout}-layout.tar"
    plain = run_cli("inspect", "--json", f"docker-archive:{path}")
    named = run_cli("inspect", "--json", "--platform", "linux/amd64", f"docker-archive:{path}")
    assert plain.code == 0 and named.code == 0, named.err
    a, b = json.loads(plain.out), json.loads(named.out)
    assert b["platform"] == "linux/amd64"
    assert (b["digest"], b["image_id"], b["layers"]) == (a["digest"], a["image_id"], a["layers"])


def test_a_platform_the_containerd_save_does_not_hold(fixtures_dir, run_cli):
    path = fixtures_dir / "modern-docker" / "docker-save-containerd-layout.tar"
    r = run_cli("inspect", "--platform", "linux/arm64", f"docker-archive:{path}")
    assert r.code == 2 and len(r.err.splitlines()) == 1
    assert "linux/arm64" in r.err and "linux/amd64" in r.err
