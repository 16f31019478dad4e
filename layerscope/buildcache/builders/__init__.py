"""The builder models: the table of builders, the walk they share, each builder's cache keys, and a step's verdict
against the cache records.
"""
