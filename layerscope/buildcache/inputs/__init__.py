"""The inputs of a simulation: the builds a change describes (disk, git, --against, edited lines, named contexts),
explore's what-ifs, Dockerfile rewrites, BuildKit timing logs.
"""
