"""Shard throughput against the PNG-decode limit, worker scaling, and memory, in one run.

On realistic 1024 px PNGs from ``glasses synth``:
(a) decode-only rates of the same files, one process, no resize/write: Pillow (the yardstick),
    the fast path shard uses, and inflate alone with zlib and zlib-ng (the ceiling);
(b) ``shard`` images/s with 1 process and with every core;
(c) (b) per core divided by Pillow's decode-only rate (goal >= 1.35);
(d) peak RSS of a 1-process shard of N and of 4N images: flat means memory does not grow;
and the measurement behind storing raw pixels rather than PNG inside the records.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import decode_rates
from PIL import Image

from glasses import synth
from glasses.data.ingest import ingest
from glasses.data.manifest import read_manifest

N = 120
SHARD_SIZE = 40  # enough shards for every core to have work at 4N images
RES = 64

_MEASURE = """
import json, sys, time
from glasses.data.shard import shard
t = time.perf_counter()
s = shard(sys.argv[1], sys.argv[2], resolution=int(sys.argv[3]), shard_size=int(sys.argv[4]),
          workers=int(sys.argv[5]))
seconds = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork and exec
with open("/proc/self/status") as f:
    rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "records": s.records, "rss_mb": rss_kb / 1024}))
"""


def _shard_run(manifest: str, out: str, workers: int) -> dict[str, float]:
    """One shard run in a fresh process, so its peak RSS is its own."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, manifest, out, str(RES), str(SHARD_SIZE), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def _manifest_of_first(manifest: Path, count: int, out: Path) -> str:
    lines = manifest.read_text().splitlines()
    out.write_text("\n".join(lines[: count + 1]) + "\n")
    return str(out)


def _encoding_figures(manifest: str) -> tuple[float, float, float, float]:
    """Bytes per record and decode cost per record: raw uint8 vs PNG at RES px."""
    import numpy as np
    import tensorflow as tf

    from glasses.data.images import load_image

    pixels = [load_image(r.uri, RES) for r in read_manifest(manifest)[:100]]
    raw = [p.tobytes() for p in pixels]
    pngs = []
    for p in pixels:
        buf = io.BytesIO()
        Image.fromarray(p).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    raw_t = tf.constant(raw)
    png_t = tf.constant(pngs)
    decode_raw = tf.function(lambda x: tf.io.decode_raw(x, tf.uint8))
    decode_png = tf.function(
        lambda x: tf.map_fn(lambda b: tf.io.decode_png(b, 3), x, fn_output_signature=tf.uint8)
    )
    decode_raw(raw_t), decode_png(png_t)  # trace once
    start = time.perf_counter()
    for _ in range(20):
        decode_raw(raw_t)
    raw_us = (time.perf_counter() - start) / (20 * len(raw)) * 1e6
    start = time.perf_counter()
    for _ in range(20):
        decode_png(png_t)
    png_us = (time.perf_counter() - start) / (20 * len(raw)) * 1e6
    return (
        float(np.mean([len(r) for r in raw])),
        float(np.mean([len(p) for p in pngs])),
        raw_us,
        png_us,
    )


def main() -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        synth.synth(str(tmp / "raw"), count=4 * N, size=1024, unlabelled_fraction=0.1, seed=1)
        ingest(str(tmp / "raw"), str(tmp / "ingested"))
        manifest_4n = str(tmp / "ingested" / "manifest.csv")
        manifest_n = _manifest_of_first(Path(manifest_4n), N, tmp / "manifest_n.csv")

        rates = decode_rates.measure([Path(r.uri) for r in read_manifest(manifest_4n)])
        decode_rate = rates.pillow

        one = _shard_run(manifest_4n, str(tmp / "s1"), 1)
        every = _shard_run(manifest_4n, str(tmp / "sall"), cores)
        small = _shard_run(manifest_n, str(tmp / "sn"), 1)
        raw_b, png_b, raw_us, png_us = _encoding_figures(manifest_n)

    rate_one = one["records"] / one["seconds"]
    rate_all = every["records"] / every["seconds"]
    print(f"shard: {4 * N} synthetic 1024 px PNGs -> {RES} px, {cores} cores")
    print("(a) the same files, 1 process:         rate          / Pillow")
    decode_rates.print_rates(rates)
    print(f"(b) shard, 1 process:                 {rate_one:7.1f} images/s")
    print(f"    shard, {cores} processes:              {rate_all:7.1f} images/s")
    print(f"(c) shard per core / Pillow decode:   {rate_one / decode_rate:7.2f} (1 process)")
    per_core = rate_all / cores / decode_rate
    print(
        f"                                      {per_core:7.2f} ({cores} processes; goal >= 1.35)"
    )
    print(f"    shard per core / inflate ceiling: {rate_all / cores / rates.inflate_zlib_ng:7.2f}")
    print(f"    5000 faces at this rate:          {5000 / rate_all:7.1f} s on {cores} cores")
    print(f"    scaling {cores} processes / 1:         {rate_all / rate_one:7.2f}")
    print(f"(d) peak RSS, 1 process, {N} images:  {small['rss_mb']:7.1f} MB")
    print(f"    peak RSS, 1 process, {4 * N} images:  {one['rss_mb']:7.1f} MB")
    print(f"    ratio 4N / N:                     {one['rss_mb'] / small['rss_mb']:7.2f}")
    print(f"record encoding at {RES} px: raw {raw_b / 1024:.1f} KB, decode {raw_us:.1f} us;"
          f" PNG {png_b / 1024:.1f} KB, decode {png_us:.1f} us")  # fmt: skip


if __name__ == "__main__":
    main()
