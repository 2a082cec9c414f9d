"""``make bench``: every benchmark, each printing its figures and ratios from one run."""

from __future__ import annotations

import bench_ingest
import bench_shard


def main() -> None:
    bench_ingest.main()
    print()
    bench_shard.main()


if __name__ == "__main__":
    main()
