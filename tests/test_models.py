from __future__ import annotations

import importlib
from pathlib import Path

import app.models
from app.db import Base

APP = Path(app.__file__).parent


def test_app_models_names_every_model() -> None:
    """Migrations and the tests that walk every table import app.models alone: it must name
    the model of every package's models.py."""
    for path in APP.glob("*/models.py"):
        importlib.import_module(f"app.{path.parent.name}.models")
    mapped = {mapper.class_.__name__ for mapper in Base.registry.mappers}
    assert mapped == set(app.models.__all__)
