"""The sync client, generated from ``vinr/_async/`` (see tools/make_sync.py)."""
