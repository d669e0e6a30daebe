from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError


@pytest.mark.parametrize(("overrides", "variable"), [
    ({"DATABASE_URL": "mysql://x/y"}, "VINR_DATABASE_URL"),
    ({"DATABASE_URL": "not a url"}, "VINR_DATABASE_URL"),
    ({"PUBLIC_URL": "ftp://example.com"}, "VINR_PUBLIC_URL"),
    ({"SECRET_KEY": "short"}, "VINR_SECRET_KEY"),
    ({"SMTP_URL": "http://mail"}, "VINR_SMTP_URL"),
    ({"PROCESSOR_URL": "https://proc.example"}, "VINR_PROCESSOR_KEY"),
    ({"PROCESSOR_KEY": "k"}, "VINR_PROCESSOR_URL"),
    ({"REDIS_URL": "memcached://x"}, "VINR_REDIS_URL"),
    ({"IDEMPOTENCY_TTL": -5}, "VINR_IDEMPOTENCY_TTL"),
])
def test_bad_configuration_fails_at_start_naming_the_variable(tmp_path: Path, overrides: dict,
                                                                variable: str) -> None:
    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "s" * 32}
    with pytest.raises(ConfigError, match=variable):
        create_app({**base, **overrides})


def test_environment_variables_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VINR_PUBLIC_URL", "https://pay.acme.example/")
    monkeypatch.setenv("VINR_DATABASE_URL", "postgresql://u@db.example/vinr")
    app = create_app({"SECRET_KEY": "s" * 32})
    assert app.config["PUBLIC_URL"] == "https://pay.acme.example"
    assert app.config["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_defaults_to_sqlite_and_a_persistent_secret_in_the_instance_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VINR_DATABASE_URL", "VINR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    first = create_app(instance_path=str(tmp_path / "instance"))
    second = create_app(instance_path=str(tmp_path / "instance"))
    assert first.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'vinr.sqlite3'}"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) >= 32


def test_the_instance_folder_can_be_named_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VINR_DATABASE_URL", "VINR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VINR_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere' / 'vinr.sqlite3'}"
    assert (tmp_path / "elsewhere" / "secret_key").read_text().strip() == app.config["SECRET_KEY"]
    monkeypatch.setenv("VINR_INSTANCE_PATH", "relative/instance")
    with pytest.raises(ConfigError, match="VINR_INSTANCE_PATH"):
        create_app()
