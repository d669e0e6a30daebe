"""The one place the product reads the time, so tests and test clocks can move it."""

from __future__ import annotations

import time


def now() -> int:
    """Unix seconds."""
    return int(time.time())
