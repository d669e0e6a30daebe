"""Object ids: a type prefix and a time-ordered random part (SPEC §2).

The first nine characters are the creation time in milliseconds (base 36,
fixed width), so ids sort in creation order within one second, which keeps
lists ordered by (created, id) in the order objects were made.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_RANDOM_SPACE = 36**14


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 36)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return ``<prefix>_<time><random>``, 23 characters after the prefix."""
    millis = time.time_ns() // 1_000_000
    # One draw for all 14 random characters (uniform, as 14 draws of one
    # character are), not one urandom call per character.
    return f"{prefix}_{_base36(millis, 9)}{_base36(secrets.randbelow(_RANDOM_SPACE), 14)}"
