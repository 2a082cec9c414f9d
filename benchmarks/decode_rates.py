"""Decode-only rates of one set of files, in one fresh process, page cache warm: the
yardsticks that shard and score are measured against.

- Pillow: ``Image.open(f).convert("RGB")``, what a user would write, measured first, in a
  process as a user would start it;
- inflate only, zlib and zlib-ng, of the same files' IDAT data: the ceiling for any PNG decoder,
  which must at least inflate (unfiltering and the decoder's own overhead come on top);
- fast path: ``glasses.images.decode_png_fast``, the decoder shard and score use for PNG;
- Pillow again, after the fast path has set the allocator to keep freed memory: how much of
  the gain that setting alone would give Pillow.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image
from zlib_ng import zlib_ng

from glasses.data.images import decode_png_fast


@dataclass(frozen=True)
class DecodeRates:
    """images/s of each way of decoding the same files."""

    pillow: float
    fast_path: float
    inflate_zlib: float
    inflate_zlib_ng: float
    pillow_kept_memory: float


def _idat(data: bytes) -> bytes:
    """The concatenated zlib stream of a PNG's IDAT chunks."""
    pos, parts = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            parts.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(parts)


def _rate(items: Sequence[object], work: Callable[[object], object], rounds: int = 2) -> float:
    """images/s of the best of ``rounds`` passes (the first pass may still warm caches)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def _pillow(path: object) -> None:
    with Image.open(io.BytesIO(Path(str(path)).read_bytes())) as im:
        im.convert("RGB")


def _fast(path: object) -> None:
    if decode_png_fast(Path(str(path)).read_bytes(), max_pixels=1 << 40) is None:
        raise ValueError(f"{path}: not a file the fast path decodes")


def _measure_here(files: Sequence[Path]) -> DecodeRates:
    for f in files:  # warm the page cache, as the runs being compared will find it
        f.read_bytes()
    streams = [_idat(f.read_bytes()) for f in files]
    pillow = _rate(files, _pillow)
    inflate_zlib = _rate(streams, lambda s: zlib.decompress(s))  # type: ignore[arg-type]
    inflate_zlib_ng = _rate(streams, lambda s: zlib_ng.decompress(s))  # type: ignore[arg-type]
    fast_path = _rate(files, _fast)
    return DecodeRates(pillow, fast_path, inflate_zlib, inflate_zlib_ng, _rate(files, _pillow))


def measure(files: Sequence[Path]) -> DecodeRates:
    """Every rate, measured in a fresh process (so no earlier work has warmed its allocator)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(str(f) for f in files))
        listing.flush()
        result = subprocess.run(
            [sys.executable, __file__, listing.name], capture_output=True, text=True, check=True
        )
    return DecodeRates(**json.loads(result.stdout.strip().splitlines()[-1]))


def print_rates(rates: DecodeRates) -> None:
    base = rates.pillow
    print(f"    decode-only, Pillow convert('RGB'):  {base:7.1f} images/s   1.00")
    print(f"    decode-only, fast path (libspng):    {rates.fast_path:7.1f} images/s "
          f"{rates.fast_path / base:6.2f}")  # fmt: skip
    print(f"    inflate only, zlib:                  {rates.inflate_zlib:7.1f} images/s "
          f"{rates.inflate_zlib / base:6.2f}")  # fmt: skip
    print(f"    inflate only, zlib-ng (the ceiling): {rates.inflate_zlib_ng:7.1f} images/s "
          f"{rates.inflate_zlib_ng / base:6.2f}")  # fmt: skip
    print(f"    Pillow, allocator keeping memory:    {rates.pillow_kept_memory:7.1f} images/s "
          f"{rates.pillow_kept_memory / base:6.2f}")  # fmt: skip


if __name__ == "__main__":
    paths = [Path(line) for line in Path(sys.argv[1]).read_text().splitlines()]
    print(json.dumps(asdict(_measure_here(paths))))
