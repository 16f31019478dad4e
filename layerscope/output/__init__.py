"""Every renderer of a result, above the model and the analysis (docs/ARCHITECTURE.md):
DataFrames (frames.py), HTML tables (html.py), `check`'s text/JSON/JUnit/GitHub outputs
(budget.py), `cache`'s JSON and text (cache.py), and the `compare --json` and `packages
--json` documents (json.py). The model and the analysis never import
this package; their notebook methods reach it through layerscope/renderhooks.py, which
notebook.py fills when `import layerscope` runs.
"""
