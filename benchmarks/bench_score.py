"""Scoring throughput against the PNG-decode limit, and scoring from shards, in one run.

On realistic 1024 px PNGs from ``glasses synth``:
(a) decode-only rates of the same files, one process (see decode_rates.py);
(b) ``score`` of a folder of those files, images/s with 1 decoding process and with every core,
    per core divided by Pillow's decode-only rate (goal >= 1.35);
(c) ``score`` of the same faces from 64 px shards (no decoding): images/s;
(d) an hourly scoring of a growing folder: with a ledger, the run after 5 % more faces landed
    against the run that scored them all (goal: the new faces' share of the time, start-up
    aside).
Start-up (model load, spawning the decoders, tracing) costs about a second: the batch is
large enough for that to be a few percent, as it is for a real batch of GAN faces.
Each score run is timed in a fresh process with TensorFlow already imported; model loading,
the decoding processes' start-up and tracing are part of the time, as in a real run.
The model is the default architecture untrained: its speed does not depend on its weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import decode_rates

from glasses import synth
from glasses.data.ingest import ingest
from glasses.data.shard import shard

COUNT = 320
COPIES = 4  # each face under 4 names: a batch large enough that start-up does not dominate
RES = 64

_MEASURE = """
import json, sys, time
from glasses.scoring.score import score
model, source, out, workers, split, ledger = sys.argv[1:7]
t = time.perf_counter()
s = score(model, source, out, workers=int(workers), split=split, ledger=ledger or None)
print(json.dumps({"seconds": time.perf_counter() - t, "scored": s.scored}))
"""


def _score_run(model: str, source: str, out: str, workers: int, split: str) -> float:
    """images/s of one score run in a fresh process (TensorFlow imported before timing)."""
    seconds, scored = _timed(model, source, out, workers, split)
    return scored / seconds


def _timed(
    model: str, source: str, out: str, workers: int, split: str, ledger: str = ""
) -> tuple[float, int]:
    """(seconds, faces scored) of one score run in a fresh process."""
    code = "import tensorflow, keras\n" + _MEASURE
    result = subprocess.run(
        [sys.executable, "-c", code, model, source, out, str(workers), split, ledger],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return float(figures["seconds"]), int(figures["scored"])


def _save_model(path: Path) -> None:
    from glasses.model.hparams import HParams
    from glasses.model.network import build_model

    path.mkdir(parents=True)
    build_model(HParams(), RES).save(path / "model.keras")


def main() -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        synth.synth(str(tmp / "raw"), count=COUNT, size=1024, unlabelled_fraction=0.0, seed=2)
        files = sorted((tmp / "raw" / "faces-spring-2020" / "faces-spring-2020").glob("*.png"))
        faces = tmp / "batch"
        for copy in range(COPIES):
            (faces / f"copy{copy}").mkdir(parents=True)
            for f in files:
                os.link(f, faces / f"copy{copy}" / f.name)
        rates = decode_rates.measure(sorted(faces.rglob("*.png")))
        decode_rate = rates.pillow

        model = tmp / "model"
        _save_model(model)
        one = _score_run(str(model), str(faces), str(tmp / "p1"), 1, "unlabelled")
        every = _score_run(str(model), str(faces), str(tmp / "pall"), cores, "unlabelled")

        ingest(str(tmp / "raw"), str(tmp / "ingested"), val_fraction=0.0, test_fraction=0.0)
        shard(str(tmp / "ingested" / "manifest.csv"), str(tmp / "shards"), resolution=RES)
        from_shards = _score_run(str(model), str(tmp / "shards"), str(tmp / "ps"), 1, "train")

        ledger = str(tmp / "ledger")
        full, _ = _timed(str(model), str(faces), str(tmp / "h1"), cores, "unlabelled", ledger)
        landed = faces / "landed"
        landed.mkdir()
        new = len(files) * COPIES // 20  # 5 % more faces
        for k in range(new):
            os.link(files[k % len(files)], landed / f"new-{k}.png")
        hourly, scored = _timed(str(model), str(faces), str(tmp / "h2"), cores, "unlabelled",
                                ledger)  # fmt: skip

    print(f"score: {COUNT * COPIES} synthetic 1024 px PNGs ({COUNT} faces x {COPIES} names) -> "
          f"{RES} px, default model, {cores} cores")  # fmt: skip
    print("(a) the same files, 1 process:           rate          / Pillow")
    decode_rates.print_rates(rates)
    print(f"(b) score, 1 decoding process:          {one:7.1f} images/s")
    print(f"    score, {cores} decoding processes:       {every:7.1f} images/s")
    print(f"    score per core / Pillow decode:     {one / decode_rate:7.2f} (1 process)")
    print(f"                                        {every / cores / decode_rate:7.2f} "
          f"({cores} processes; goal >= 1.35)")  # fmt: skip
    print(f"(c) score from {RES} px shards:            {from_shards:7.1f} images/s")
    print(f"(d) hourly, with a ledger: all {COUNT * COPIES} faces {full:6.1f} s; {new} landed "
          f"since: {hourly:6.1f} s, {scored} scored")  # fmt: skip
    print(f"    the second run / the first:         {hourly / full:7.2f} "
          f"(the new faces' share: {new / (COUNT * COPIES + new):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
