"""Fixtures for the branding tests."""

from __future__ import annotations

import pytest

from .images import data_uri, draw


@pytest.fixture()
def png_uri() -> str:
    return data_uri(draw("PNG", (64, 32)), "image/png")
