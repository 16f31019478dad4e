"""Package attribution: Python dists, conda, dpkg, apk and rpm packages, their bytes per
layer, what upgrades and uninstalls left behind, categories and savings."""

from layerscope.analysis.packages.report import package_report

__all__ = ["package_report"]
