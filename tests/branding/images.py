"""Image factories for the branding tests: every logo is drawn here with Pillow."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Any

from PIL import Image


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def draw(fmt: str = "PNG", size: tuple[int, int] = (64, 32), mode: str = "RGB", **save: Any) -> bytes:
    """A small gradient image in ``fmt``."""
    image = Image.new(mode, size)
    if mode in ("RGB", "RGBA"):
        image.putdata([((x * 7) % 256, (y * 5) % 256, 120) + ((255,) if mode == "RGBA" else ())
                       for y in range(size[1]) for x in range(size[0])])
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def animated_png() -> bytes:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def noisy_png(side: int) -> bytes:
    """Random pixels barely compress: a PNG of side x side is about 3 * side**2 bytes."""
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    real = draw("PNG", (16, 16))
    ihdr = struct.pack(">II", width, height) + real[24:29]
    chunk = b"IHDR" + ihdr
    return real[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + real[33:]
