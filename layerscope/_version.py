"""The version of layerscope, written once: pyproject.toml reads it (setuptools' dynamic
version), and the package, the CLI, the reports and the registry's User-Agent import it."""

__version__ = "0.1.0"
