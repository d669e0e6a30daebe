"""The worker, above the domains: ``kinds.py`` the registry of every kind of job (what
runs it, how many of its jobs share a unit of work, what runs on a timer),
``housekeeping.py`` the worker's own upkeep, and ``runner.py`` the process that claims
and runs jobs (``flask --app wsgi worker``). The queue itself is app/jobs/."""
