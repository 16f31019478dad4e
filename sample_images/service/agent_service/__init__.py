"""A small tool-using agent behind an HTTP endpoint (sample service for layerscope)."""

__version__ = "0.3.1"
