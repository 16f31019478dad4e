"""The catalog needs the token scope `registry:catalog:*` (not a repository's pull scope):
asked for by `fleet --catalog` through the same Authorizer as every request."""

from __future__ import annotations

import pytest

from layerscope.errors import RegistryError
from layerscope.fleet import catalog
from layerscope.sources.registry.options import RegistryOptions
from tests.sources.registry.conftest import PASSWORD, USER, Pushed
from tests.sources.registry.servers import Registry
from tests.sources.registry.tokens import TokenIssuer

pytestmark = pytest.mark.registry


def test_catalog_through_a_token_service(
    token_registry: Registry, token_images: dict[str, Pushed], token_issuer: TokenIssuer
) -> None:
    spec = catalog.parse_catalog(f"docker://{token_registry.host}")
    names = catalog.repositories(spec, RegistryOptions.create(USER, PASSWORD), page=1)
    assert {"public/tok", "private/tok"} <= set(names)
    tags = catalog.tags(spec.registry, "private/tok", RegistryOptions.create(USER, PASSWORD))
    assert tags == ["1"]
    with pytest.raises(RegistryError, match="requires authentication"):
        catalog.repositories(spec, RegistryOptions.create())
