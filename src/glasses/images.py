"""Decode and resize one face: the single function that shard (training data) and score
(serving) both call, so a model never sees pixels prepared differently from its training data.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from glasses import storage

# 1024x1024 is 1 Mpx; anything over 64 Mpx is not a face from this pipeline, and decoding it
# could take gigabytes (a "decompression bomb"): refuse it from the header, before decoding.
DEFAULT_MAX_PIXELS = 64_000_000


class ImageRejected(Exception):
    """This file cannot become a training or scoring input; the message says why."""


def decode_and_resize(
    data: bytes, resolution: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """PNG/JPEG/... bytes -> uint8 array (resolution, resolution, 3).

    Any mode (RGBA, grayscale, palette) becomes RGB; a non-square image is centre-cropped to a
    square first so faces keep their proportions. Resizing uses a box (area) filter: from
    1024 px to 32 px every source pixel counts, where bilinear would skip most of them and alias.
    """
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
        width, height = img.size
        if width * height > max_pixels:
            raise ImageRejected(
                f"{width}x{height} is {width * height} pixels, over the cap of {max_pixels} "
                "(possible decompression bomb)"
            )
        img.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageRejected(f"too many pixels (possible decompression bomb): {err}") from err
    except UnidentifiedImageError as err:
        raise ImageRejected("not an image (unrecognised format)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageRejected(f"truncated or corrupt image: {err}") from err
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB") if img.mode == "P" else img.convert("RGB")
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.uint8)


def load_image(uri: str, resolution: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read and prepare one image; a missing file is a rejection like a corrupt one."""
    try:
        data = storage.read_bytes(uri)
    except FileNotFoundError as err:
        raise ImageRejected("file not found") from err
    return decode_and_resize(data, resolution, max_pixels)
