"""The real VINR app for the benchmark's gunicorn worker.

Configured only through ``VINR_DATABASE_URL``, ``VINR_SECRET_KEY`` and
``VINR_PUBLIC_URL``, which ``bench/run.py`` sets to a temporary SQLite file.
"""

from app import create_app

app = create_app()
