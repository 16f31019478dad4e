"""Real-build scenarios marked `slow` run only with LAYERSCOPE_SLOW=1 (CI sets it)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("LAYERSCOPE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow real-build scenario: set LAYERSCOPE_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(os.path.dirname(__file__)):
            item.add_marker(skip)
