"""PNGs of every mode a decoder must agree on, made from seeded arrays (not Pillow's drawing,
so the pixels do not move between Pillow versions). Shared by the image and shard tests."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _texture(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """Smooth gradients plus grain: rows that PNG encoders filter with Sub, Up and Paeth."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    planes = [
        (x * (c + 1) * 255 // max(width, 1) + y * 255 // max(height, 1) + 40 * c) % 256
        for c in range(channels)
    ]
    base = np.stack(planes, axis=-1).astype(np.int16)
    grain = rng.integers(-6, 7, size=base.shape, dtype=np.int16)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(
    pixels: np.ndarray, bit_depth: int, colour_type: int, *, interlaced: bool = False
) -> bytes:
    """A PNG written by hand, for what Pillow cannot write (16-bit RGB, interlaced).

    ``pixels`` is (height, width, samples) of uint8 or big-endian-able uint16. Interlaced files
    use Adam7: seven reduced images, each row with filter type 0.
    """
    height, width = pixels.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    data = pixels.astype(dtype)

    def scanlines(img: np.ndarray) -> bytes:
        return b"".join(b"\x00" + row.tobytes() for row in img)

    if interlaced:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                  (1, 0, 2, 2), (0, 1, 1, 2)]  # fmt: skip
        raw = b"".join(
            scanlines(data[y0::dy, x0::dx])
            for x0, y0, dx, dy in passes
            if data[y0::dy, x0::dx].size
        )
    else:
        raw = scanlines(data)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _pillow_png(img: Image.Image, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **options)
    return buf.getvalue()


def every_mode(size: int = 96, seed: int = 0) -> dict[str, bytes]:
    """One PNG per mode: name -> file bytes."""
    rgb = _texture(size, size, 3, seed)
    rgba = _texture(size, size, 4, seed + 1)
    gray = _texture(size, size, 1, seed + 2)[..., 0]
    wide = _texture(size, size + 37, 3, seed + 3)
    palette = Image.fromarray(rgb).quantize(64)
    palette_transparent = palette.copy()
    palette_transparent.info["transparency"] = 3
    rgb_transparent = Image.fromarray(rgb)
    rgb16 = rgb.astype(np.uint16) * 257 + _texture(size, size, 3, seed + 4)
    return {
        "RGB": _pillow_png(Image.fromarray(rgb)),
        "RGB, default compression": _pillow_png(Image.fromarray(rgb), compress_level=6),
        "RGB with a transparent colour": _pillow_png(rgb_transparent, transparency=(1, 2, 3)),
        "RGB with gamma": _pillow_png(Image.fromarray(rgb), gamma=0.45),  # ignored by both
        "RGBA": _pillow_png(Image.fromarray(rgba, "RGBA")),
        "L": _pillow_png(Image.fromarray(gray, "L")),
        "LA": _pillow_png(Image.fromarray(np.stack([gray, gray[::-1]], -1), "LA")),
        "P": _pillow_png(palette),
        "P with transparency": _pillow_png(palette_transparent),
        "1": _pillow_png(Image.fromarray(gray > 128)),
        "I;16": raw_png((gray.astype(np.uint16) * 257)[..., None], 16, 0),
        "RGB 16-bit": raw_png(rgb16, 16, 2),
        "RGBA 16-bit": raw_png(np.concatenate([rgb16, rgb16[..., :1]], -1), 16, 6),
        "RGB interlaced": raw_png(rgb, 8, 2, interlaced=True),
        "RGBA interlaced": raw_png(rgba, 8, 6, interlaced=True),
        "RGB not square": _pillow_png(Image.fromarray(wide)),
        "RGB odd size": _pillow_png(Image.fromarray(_texture(size + 1, size + 3, 3, seed + 5))),
        "RGB hand-written": raw_png(rgb, 8, 2),
        "RGBA hand-written": raw_png(rgba, 8, 6),
    }
