"""``make bench``: every benchmark, each printing its figures and ratios from one run."""

from __future__ import annotations

import bench_ingest
import bench_score
import bench_shard
import bench_train


def main() -> None:
    bench_ingest.main()
    print()
    bench_shard.main()
    print()
    bench_train.main()
    print()
    bench_score.main()


if __name__ == "__main__":
    main()
