"""The async client. The sync twin in ``vinr/_sync/`` is generated from this package
(``python tools/make_sync.py``): edit here, then regenerate."""
