"""The registry client's message helpers (sources/registry/client.py)."""

from __future__ import annotations

import httpx

from layerscope.sources.registry.failures import where


def test_where_names_a_url_without_query_or_userinfo_and_keeps_ipv6_brackets() -> None:
    """A redirect target or a proxy in a message: `http://::1:5000/` could be read as a port of
    `::1` or of `::1:5000`; the brackets say which part is the address."""
    assert where(httpx.URL("https://u:secret@[::1]:5000/v2/x?sig=abc")) == "https://[::1]:5000/v2/x"
    assert where(httpx.URL("http://[fe80::1]/v2/")) == "http://[fe80::1]/v2/"
    assert where(httpx.URL("https://registry.example:443/v2/?X-Amz-Signature=s")) == "https://registry.example/v2/"
    assert where(httpx.URL("http://127.0.0.1:5000/a")) == "http://127.0.0.1:5000/a"
