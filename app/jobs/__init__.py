"""The queue's primitives: background jobs are rows of our own table, written in the
business transaction (the outbox; ``queue.py``), claimed under a lease (``claims.py``)
and shared fairly between a worker's threads (``fairness.py``). Domains queue their
work here and know nothing above it; what runs each kind of job is app/worker/kinds.py
(SPEC §8, STYLE "Jobs are rows too")."""
