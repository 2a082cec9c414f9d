"""``make bench``: every benchmark, each printing its figures and ratios from one run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest


def main() -> None:
    bench_ingest.main()


if __name__ == "__main__":
    main()
