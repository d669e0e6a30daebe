"""Emails to customers and merchants: composed from templates, queued in the business
transaction, sent by the worker (SPEC §5)."""
