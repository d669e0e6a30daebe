"""Benchmarks, not tests: ``.venv/bin/python -m bench`` (see docs/performance.md)."""
