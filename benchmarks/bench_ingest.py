"""Ingest of a full-size source (5000 rows) from a local folder and from gs:// on loopback.

The images' content does not matter to ingest (it lists and reads CSVs, never decodes), so the
faces are made small to keep the benchmark short; the listing and CSVs are full size.
"""

from __future__ import annotations

import os
import tempfile
import time

from glasses import synth, testing
from glasses.data.ingest import ingest

COUNT = 5000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, testing.gcs_emulator("bench"):
        local, remote = os.path.join(tmp, "raw"), "gs://bench/raw"
        for target in (local, remote):
            synth.synth(target, count=COUNT, size=16, seed=0)

        start = time.perf_counter()
        ingest(local, os.path.join(tmp, "out"))
        local_s = time.perf_counter() - start
        start = time.perf_counter()
        report = ingest(remote, "gs://bench/out")
        gcs_s = time.perf_counter() - start
    assert report.counts()["accepted"] == COUNT
    print(f"ingest {COUNT} rows, local folder:         {local_s:6.2f} s")
    print(f"ingest {COUNT} rows, gs:// (loopback GCS): {gcs_s:6.2f} s")
    print(f"ratio gs:// / local:                      {gcs_s / local_s:6.1f}")


if __name__ == "__main__":
    main()
