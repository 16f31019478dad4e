"""Dockerfile model: instructions (BuildKit's own parser), stages, build context and .dockerignore."""
