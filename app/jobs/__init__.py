"""Background jobs: rows of our own table, written in the business transaction (the
outbox) and run by ``flask --app wsgi worker`` (SPEC §8, STYLE "Jobs are rows too")."""
