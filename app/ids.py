"""Object ids: a type prefix and a time-ordered random part (SPEC §2).

The first nine characters are the creation time in milliseconds (base 36,
fixed width), so ids sort in creation order within one second, which keeps
lists ordered by (created, id) in the order objects were made.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_RANDOM_SPACE = 36**14


def _base36(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, rem = divmod(value, 36)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


# The last (millisecond, random part) this process handed out.
_last = [0, 0]
_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """Return ``<prefix>_<time><random>``, 23 characters after the prefix.

    Within one process ids also sort in creation order inside one millisecond:
    the next id of the same millisecond takes the last random part plus one
    (as ULID's monotonic mode does). A request now takes well under a
    millisecond, so two objects made one after the other often share one.
    """
    millis = time.time_ns() // 1_000_000
    with _lock:
        last_millis, last_random = _last
        if millis > last_millis:
            # One draw for all 14 random characters (uniform, as 14 draws of
            # one character are), not one urandom call per character.
            random_part = secrets.randbelow(_RANDOM_SPACE)
        elif last_random + 1 < _RANDOM_SPACE:  # the same millisecond, or the clock stepped back
            millis, random_part = last_millis, last_random + 1
        else:  # 36**14 ids in one millisecond: never, but stay in order
            millis, random_part = last_millis + 1, secrets.randbelow(_RANDOM_SPACE)
        _last[:] = [millis, random_part]
    return f"{prefix}_{_base36(millis, 9)}{_base36(random_part, 14)}"
