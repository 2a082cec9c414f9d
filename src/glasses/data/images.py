"""Decode and resize one face: the single function that shard (training data) and score
(serving) both call, so a model never sees pixels prepared differently from its training data.

Decoding 1024 px PNGs is nearly all of shard's and score's work, so the common PNG (8-bit RGB
or RGBA, not interlaced) takes a fast path: zlib-ng inflates, libspng (``pyspng-seunglab``)
unfilters into a buffer that Pillow then resizes without a copy; 2.3x Pillow's decode rate
(``make bench``). Every other file, and any PNG the fast path refuses, goes through Pillow
exactly as before, so results (pixels and rejection reasons) are Pillow's in every case; the
tests check that mode by mode, and that shard bytes did not change.
"""

from __future__ import annotations

import ctypes
import functools
import io
import struct
import warnings
from typing import cast

import numpy as np
import pyspng
from PIL import Image, UnidentifiedImageError
from zlib_ng import zlib_ng

from glasses import defaults, storage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR = b"\0\0\0\rIHDR"  # the header chunk: 13 bytes, always first
_RGB, _RGBA = 2, 6  # PNG colour types the fast path owns, at 8 bits and without interlacing
_INFLATE_ERROR = cast(type[Exception], zlib_ng.error)  # a class; its stub says an instance


class ImageRejected(Exception):
    """This file cannot become a training or scoring input; the message says why."""


def _too_many(width: int, height: int, max_pixels: int) -> ImageRejected:
    return ImageRejected(
        f"{width}x{height} is {width * height} pixels, over the cap of {max_pixels} "
        "(possible decompression bomb)"
    )


def _chunk(kind: bytes, data: bytes | bytearray) -> list[bytes | bytearray]:
    crc = zlib_ng.crc32(data, zlib_ng.crc32(kind))
    return [struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)]


def _with_stored_idat(data: bytes) -> bytes:
    """The same PNG with its image data inflated by zlib-ng and stored uncompressed.

    libspng's unfiltering is fast, but the wheels link it to miniz, whose inflate is most of
    the decode time; zlib-ng inflates 1.8x faster. Stored deflate blocks cost libspng a copy,
    so it then only unfilters. Like Pillow, this does not check the IDAT chunks' own CRCs; a
    broken stream raises zlib_ng.error, and ancillary chunks (text, gamma, colour profiles)
    are left out: no decoder here uses them.
    """
    compressed: list[memoryview] = []
    view, pos = memoryview(data), 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            compressed.append(view[pos + 8 : pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    scanlines = zlib_ng.decompress(b"".join(compressed))
    stored = bytearray(b"\x78\x01")  # zlib header: deflate, 32 KiB window, no dictionary
    size, block = len(scanlines), 0xFFFF
    for start in range(0, size, block):
        piece = scanlines[start : start + block]
        stored += struct.pack("<BHH", start + block >= size, len(piece), len(piece) ^ 0xFFFF)
        stored += piece
    stored += struct.pack(">I", zlib_ng.adler32(scanlines))
    return b"".join([data[:33], *_chunk(b"IDAT", stored), *_chunk(b"IEND", b"")])


@functools.cache
def _keep_freed_memory() -> None:
    """Let glibc keep freed memory instead of returning it to the kernel after every image.

    A decode allocates about 13 MB (scanlines, stored stream, pixels) and frees it; by default
    glibc hands that back and the next image faults it in again, page by page, which costs
    more than unfiltering. Keeping up to 256 MB makes decoding 1.5x faster (CHANGELOG.md).
    A no-op where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_trim_threshold, 256 << 20)
    mallopt(m_mmap_threshold, 32 << 20)


def decode_png_fast(data: bytes, max_pixels: int) -> Image.Image | None:
    """The file as an RGBX image decoded by libspng, or None where Pillow must decide.

    The header is read first, so an oversized PNG is refused before anything is inflated.
    RGBX shares libspng's RGBA buffer (no copy); its fourth byte is ignored, as
    ``convert("RGB")`` ignores alpha, and is dropped after the resize.
    """
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[8:16] != _IHDR:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    pillow_cap = Image.MAX_IMAGE_PIXELS
    if pillow_cap is not None and width * height > pillow_cap:
        return None  # Pillow's own bomb warning decides, as before
    if width * height > max_pixels:
        raise _too_many(width, height, max_pixels)
    if depth != 8 or colour not in (_RGB, _RGBA) or interlace or width * height == 0:
        return None
    _keep_freed_memory()
    try:
        rgba = pyspng.load(_with_stored_idat(data), "RGBA")
    except (RuntimeError, _INFLATE_ERROR):
        return None  # truncated or corrupt: Pillow gives today's reason (or decodes it)
    return Image.frombuffer("RGBX", (width, height), rgba, "raw", "RGBX", 0, 1)


def _pillow(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
        width, height = img.size
        if width * height > max_pixels:
            raise _too_many(width, height, max_pixels)
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
    return img


def decode_and_resize(
    data: bytes, resolution: int, max_pixels: int = defaults.MAX_PIXELS
) -> np.ndarray:
    """PNG/JPEG/... bytes -> uint8 array (resolution, resolution, 3).

    Any mode (RGBA, grayscale, palette) becomes RGB; a non-square image is centre-cropped to a
    square first so faces keep their proportions. Resizing uses a box (area) filter: from
    1024 px to 32 px every source pixel counts, where bilinear would skip most of them and alias.
    """
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    img = decode_png_fast(data, max_pixels) or _pillow(data, max_pixels)
    width, height = img.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BOX)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def describe(data: bytes) -> str:
    """'1024x1024 RGB': a file's size and mode from its header alone ("" if unreadable), for
    the batch health report's size/mode mix."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return f"{img.width}x{img.height} {img.mode}"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return ""


def _read(uri: str) -> bytes:
    try:
        return storage.read_bytes(uri)
    except FileNotFoundError as err:
        raise ImageRejected("file not found") from err


def load_image(uri: str, resolution: int, max_pixels: int = defaults.MAX_PIXELS) -> np.ndarray:
    """Read and prepare one image; a missing file is a rejection like a corrupt one."""
    return decode_and_resize(_read(uri), resolution, max_pixels)


def load_described(
    uri: str, resolution: int, max_pixels: int = defaults.MAX_PIXELS
) -> tuple[np.ndarray, str]:
    """load_image's pixels and the file's size and mode (``describe``), for score's batch
    health report; shard, which does not report them, reads no second header."""
    data = _read(uri)
    return decode_and_resize(data, resolution, max_pixels), describe(data)
