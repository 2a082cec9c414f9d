"""What every drawing style shares: the palettes, where a face's eyes (and so its glasses)
are, colour helpers, and the PNG encoding."""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
from PIL import Image

RGB = tuple[int, int, int]

SKIN_TONES: list[RGB] = [
    (255, 224, 196), (241, 194, 163), (224, 172, 138), (198, 144, 108),
    (170, 118, 84), (141, 92, 62), (110, 70, 46), (84, 52, 34),
]  # fmt: skip
HAIR_COLOURS: list[RGB] = [
    (20, 17, 15), (45, 32, 24), (84, 58, 38), (128, 88, 55), (181, 136, 84),
    (222, 190, 140), (150, 60, 35), (170, 170, 170), (235, 235, 230),
]  # fmt: skip
FRAME_COLOURS: list[RGB] = [
    (15, 15, 15), (60, 40, 25), (110, 75, 45), (200, 170, 90), (190, 190, 195),
    (140, 20, 30), (25, 45, 110), (120, 120, 125),
]  # fmt: skip
LENS_TINTS: list[RGB] = [(20, 20, 20), (60, 45, 30), (30, 60, 40), (40, 50, 90), (110, 60, 90)]


class Eyes(NamedTuple):
    """Where a face's eyes are, which is where its glasses go."""

    cx: float  # the face's centre line
    y: float  # the eyes' height
    dx: float  # each eye's distance from the centre line
    r: float  # an eye's radius
    face_half_width: float


def jitter(rng: np.random.Generator, colour: RGB, amount: int) -> RGB:
    c = np.clip(np.array(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def shade(colour: RGB, factor: float) -> RGB:
    return (
        int(min(255, colour[0] * factor)),
        int(min(255, colour[1] * factor)),
        int(min(255, colour[2] * factor)),
    )


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
