"""Build-cache simulation: which steps a change invalidates, per builder (BuildKit, classic, buildah).

Rooms, each importing only those below it (pyproject's import-linter contracts; docs/ARCHITECTURE.md):
`simulate.py` (the public entry), `features/` (one change, the git-log replay and its advice, the per-package
bump and split), `pricing/` (bytes and seconds), `inputs/` (what changed), `builders/` (the builder models),
`request.py` and `results.py` (plain data).
"""
