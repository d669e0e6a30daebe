"""Benchmarks (not tests): run ``.venv/bin/python bench/run.py``; see docs/performance.md."""
