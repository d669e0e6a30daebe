"""End-to-end tests of the hosted invoice page: see e2e/conftest.py."""
