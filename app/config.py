"""Configuration: defaults, then ``VINR_*`` variables, then a test mapping (SPEC §8).

Every value is checked once at start-up; a bad one raises ``ConfigError``
naming the variable, so a misconfigured deployment fails before it serves.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed; the message names it."""


DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite under the instance folder
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "SECRET_KEY": None,  # None: a random key kept in the instance folder
    "SMTP_URL": None,
    "EMAIL_FROM": None,  # None: invoices@ the host of PUBLIC_URL; the From name is the merchant's
    "PROCESSOR_URL": None,
    "PROCESSOR_KEY": None,
    "REDIS_URL": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # SPEC §2: over 1 MiB answers 413
    "IDEMPOTENCY_TTL": 24 * 3600,
    "IDEMPOTENCY_LOCK_TIMEOUT": 60,  # seconds before an abandoned in-flight key may be retaken
    "EVENT_RETENTION": 30 * 24 * 3600,
    # SPEC §7 card-testing defence: failed card attempts allowed per window (the rate
    # syntax of the `limits` library). The sixth failure in an hour is refused. Counted
    # in Redis with VINR_REDIS_URL, else in the database: either way one count for every
    # process and host (SPEC §8; app/card_testing/service.py).
    "CARD_ATTEMPTS_PER_ADDRESS": "5 per hour",
    "CARD_ATTEMPTS_PER_INVOICE": "5 per hour",
    # Reverse proxies in front of the app (nginx, a load balancer): their
    # X-Forwarded-For is trusted this many hops deep, so the card-testing limit
    # sees the customer's address, not the proxy's. 0: no proxy, trust nothing.
    "PROXY_HOPS": 0,
}


def _fail(name: str, problem: str) -> ConfigError:
    return ConfigError(f"VINR_{name}: {problem}")


def load(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` and validate it, raising ConfigError on a bad value."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("VINR")
    if overrides:
        app.config.from_mapping(overrides)
    cfg = app.config

    instance = Path(app.instance_path)
    if cfg["DATABASE_URL"] is None:
        instance.mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'vinr.sqlite3'}"
    cfg["DATABASE_URL"] = _database_url(str(cfg["DATABASE_URL"]))

    if cfg["SECRET_KEY"] is None:
        cfg["SECRET_KEY"] = _instance_secret(instance)
    secret = str(cfg["SECRET_KEY"])
    if len(secret) < 16:
        raise _fail("SECRET_KEY", "must be at least 16 characters long")
    cfg["SECRET_KEY"] = secret

    cfg["PUBLIC_URL"] = _http_url("PUBLIC_URL", str(cfg["PUBLIC_URL"])).rstrip("/")

    cfg["EMAIL_FROM"] = _email_from(cfg["EMAIL_FROM"], cfg["PUBLIC_URL"])

    if cfg["SMTP_URL"] is not None:
        parts = urlsplit(str(cfg["SMTP_URL"]))
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise _fail("SMTP_URL", "must look like smtp://[user:pass@]host:port or smtps://…")

    url, key = cfg["PROCESSOR_URL"], cfg["PROCESSOR_KEY"]
    if (url is None) != (key is None):
        raise _fail("PROCESSOR_URL" if url is None else "PROCESSOR_KEY",
                    "VINR_PROCESSOR_URL and VINR_PROCESSOR_KEY must be set together")
    if url is not None:
        cfg["PROCESSOR_URL"] = _http_url("PROCESSOR_URL", str(url)).rstrip("/")
        cfg["PROCESSOR_KEY"] = str(key)

    if cfg["REDIS_URL"] is not None:
        parts = urlsplit(str(cfg["REDIS_URL"]))
        if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
            raise _fail("REDIS_URL", "must look like redis://host:port/0")

    hops = cfg["PROXY_HOPS"]
    if isinstance(hops, bool) or not isinstance(hops, int) or not 0 <= hops <= 5:
        raise _fail("PROXY_HOPS", f"must be an integer from 0 to 5, got {hops!r}")

    for name in ("MAX_CONTENT_LENGTH", "IDEMPOTENCY_TTL", "IDEMPOTENCY_LOCK_TIMEOUT", "EVENT_RETENTION"):
        value = cfg[name]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _fail(name, f"must be a positive integer, got {value!r}")

    for name in ("CARD_ATTEMPTS_PER_ADDRESS", "CARD_ATTEMPTS_PER_INVOICE"):
        try:
            from limits import parse_many

            parse_many(str(cfg[name]))
        except ValueError:
            raise _fail(name, f"must be a rate such as '5 per hour', got {cfg[name]!r}") from None

    # The hosted page's session cookie holds its CSRF token: never sent on another site's
    # POST, and over https only where the links are https. (Flask's defaults already
    # hold these keys, so they are set, not defaulted.)
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SECURE"] = cfg["PUBLIC_URL"].startswith("https://")
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", 4 * 3600)  # a customer may leave the page open a while
    cfg.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(app.root_path) / "translations"))

    engine: dict[str, Any] = {"url": cfg["DATABASE_URL"]}
    if cfg["DATABASE_URL"].startswith("postgresql"):
        engine.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    cfg["SQLALCHEMY_ENGINES"] = {"default": engine}


def _database_url(value: str) -> str:
    try:
        url = sa.make_url(value)
    except sa.exc.ArgumentError as exc:
        raise _fail("DATABASE_URL", f"not a database URL ({exc})") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        # psycopg 3 is the one PostgreSQL driver we ship.
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url.render_as_string(hide_password=False)
    raise _fail("DATABASE_URL", f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _email_from(value: Any, public_url: str) -> str:
    if value is None:
        host = urlsplit(public_url).hostname or "localhost"
        is_name = any(c.isalpha() for c in host) and "." in host
        return f"invoices@{host if is_name else 'localhost'}"
    address = str(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() or c in "<>\"," for c in address):
        raise _fail("EMAIL_FROM", f"must be a plain address such as invoices@example.com, got {address!r}")
    return address


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(name, f"must be an http(s) URL, got {value!r}")
    return value


def _instance_secret(instance: Path) -> str:
    """A per-installation secret, created once, so hosted links survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made earlier, or by another process starting at the same moment
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
