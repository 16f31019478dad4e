"""What `layerscope cache`, `rebuild` and the package figures ask: one change, the git-log replay and its advice,
the per-package bump and the install split.
"""
