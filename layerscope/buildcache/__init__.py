"""Build-cache simulation: which steps a change invalidates, per builder (BuildKit, classic, buildah)."""
