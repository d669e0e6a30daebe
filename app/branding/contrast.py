"""Colour contrast after WCAG 2.x (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio).

Colours are ``#rrggbb`` strings (any case). The ratio runs from 1 (same
luminance) to 21 (black on white); AA asks 4.5:1 for normal text and 3:1 for
large text and for user-interface graphics such as focus rings (1.4.11).
"""

from __future__ import annotations

import re
from functools import lru_cache

AA_TEXT = 4.5
AA_GRAPHICS = 3.0
WHITE = "#ffffff"
NEAR_BLACK = "#111111"

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_hex(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as three 0–255 channels; ValueError for anything else."""
    if not _HEX.match(color):
        raise ValueError(f"{color!r} is not a #rrggbb colour")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _linear(channel: int) -> float:
    c = channel / 255
    # 0.03928 is WCAG 2.x's threshold (sRGB says 0.04045; no 8-bit value lies between).
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


@lru_cache(maxsize=1024)
def relative_luminance(color: str) -> float:
    """0.0 for black to 1.0 for white."""
    # Cached: a pure function of the string, and every page branded with the same
    # few colours asks again (three exponentials per colour, ~8 µs).
    r, g, b = parse_hex(color)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05) with L1 the lighter; symmetric, 1.0 to 21.0."""
    la, lb = relative_luminance(a), relative_luminance(b)
    lighter, darker = max(la, lb), min(la, lb)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(fg: str, bg: str) -> bool:
    """Whether ``fg`` text on ``bg`` meets AA for normal text (4.5:1)."""
    return contrast_ratio(fg, bg) >= AA_TEXT


def text_color_for(bg: str) -> str:
    """White or near-black, whichever contrasts more with ``bg`` (ties go to white)."""
    return WHITE if contrast_ratio(WHITE, bg) >= contrast_ratio(NEAR_BLACK, bg) else NEAR_BLACK
