"""Package attribution: Python dists, conda, dpkg, apk and rpm packages, their bytes per
layer, what upgrades and uninstalls left behind, categories and savings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerscope.analysis.packages.packagereport import package_report

__all__ = ["package_report"]


def __getattr__(name: str) -> Any:
    # Imported on first use: loading a saved or cached package report (document.py) must
    # not pull in the attribution machinery, a fifth of a warm `inspect`'s imports.
    if name == "package_report":
        from layerscope.analysis.packages.packagereport import package_report

        return package_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
