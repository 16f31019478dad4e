"""Blobs and manifests put into a real registry through the distribution API itself, for
documents skopeo will not push as they are (foreign layers, artifacts, odd indexes)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(host: str, repo: str, data: bytes) -> dict[str, Any]:
    """Uploads `data` (POST, then PUT with the digest); returns its descriptor (no media type)."""
    start = httpx.post(f"http://{host}/v2/{repo}/blobs/uploads/", timeout=10)
    assert start.status_code == 202, start.text
    location = httpx.URL(f"http://{host}").join(start.headers["location"])
    done = httpx.put(location.copy_merge_params({"digest": sha(data)}), content=data, timeout=10)
    assert done.status_code == 201, done.text
    return {"digest": sha(data), "size": len(data)}


def put_manifest(host: str, repo: str, ref: str, doc: dict[str, Any]) -> tuple[str, int]:
    """PUTs `doc` (served with its own mediaType); returns its digest and size."""
    raw = json.dumps(doc).encode()
    r = httpx.put(
        f"http://{host}/v2/{repo}/manifests/{ref}", content=raw, headers={"Content-Type": doc["mediaType"]}, timeout=10
    )
    assert r.status_code == 201, r.text
    return sha(raw), len(raw)


def get_manifest(host: str, repo: str, ref: str, accept: str) -> dict[str, Any]:
    r = httpx.get(f"http://{host}/v2/{repo}/manifests/{ref}", headers={"Accept": accept}, timeout=10)
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    return doc
