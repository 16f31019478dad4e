"""Pushing an image to a registry with plain distribution API calls (no skopeo, no engine):
blobs by monolithic upload (skipped when the registry has them), then the manifest."""

from __future__ import annotations

import httpx


def push(
    host: str,
    repository: str,
    tag: str,
    blobs: dict[str, bytes],
    manifest: bytes,
    media_type: str,
    auth: tuple[str, str] | None = None,
    scheme: str = "http",
) -> str:
    """Returns the manifest digest the registry reports; `auth` is Basic credentials. Over
    https the certificate is not checked (the test registry's is self-signed)."""
    base = f"{scheme}://{host}/v2/{repository}"
    with httpx.Client(timeout=30, auth=auth, verify=False) as client:
        for digest, data in blobs.items():
            if client.head(f"{base}/blobs/{digest}").status_code == 200:
                continue
            started = client.post(f"{base}/blobs/uploads/")
            started.raise_for_status()
            # The upload URL carries its own state in the query: add the digest to it.
            location = (
                httpx.URL(f"{scheme}://{host}").join(started.headers["location"]).copy_merge_params({"digest": digest})
            )
            done = client.put(location, content=data,
                              headers={"Content-Type": "application/octet-stream"})  # fmt: skip
            done.raise_for_status()
        put = client.put(f"{base}/manifests/{tag}", content=manifest, headers={"Content-Type": media_type})
        put.raise_for_status()
        return str(put.headers["docker-content-digest"])
