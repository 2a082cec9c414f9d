"""The issue-4 quality goal: test accuracy of the default model at 64 px on 2000 labelled
synthetic faces, with clean labels and with 11.5 % planted label noise (scored against the
true labels kept in ground_truth.csv). Prints the figures and the time each step took.

    python benchmarks/quality.py [--count 2000] [--noise 0 0.115] [--size 256]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time

import numpy as np

from glasses import synth
from glasses.dataset import make_dataset
from glasses.ingest import ingest
from glasses.shard import shard
from glasses.train import train


def test_accuracy(shards: str, model_dir: str, truth_csv: str) -> tuple[float, float, int]:
    import keras

    model = keras.models.load_model(os.path.join(model_dir, "model.keras"))
    with open(truth_csv) as f:
        truth = {r["id"]: int(r["true_label"]) for r in csv.DictReader(f)}
    given, true, predicted = [], [], []
    for batch in make_dataset(shards, "test", 256, with_ids=True):
        p = model.predict_on_batch(batch["image"]).reshape(-1)
        predicted.extend((p >= 0.5).astype(int))
        given.extend(batch["label"].numpy().astype(int))
        true.extend(truth[i.decode()] for i in batch["id"].numpy())
    predicted_a = np.array(predicted)
    return (
        float((predicted_a == np.array(given)).mean()),
        float((predicted_a == np.array(true)).mean()),
        len(predicted),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.115])
    parser.add_argument("--monitor", default="val_loss")
    parser.add_argument("--patience", type=int, default=5)
    args = parser.parse_args()
    for noise in args.noise:
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "raw")
            synth.synth(
                raw,
                count=args.count,
                size=args.size,
                unlabelled_fraction=0.0,
                label_noise=noise,
                seed=0,
            )
            ingest(raw, os.path.join(tmp, "ingested"))
            shards = os.path.join(tmp, "shards")
            shard(os.path.join(tmp, "ingested", "manifest.csv"), shards, resolution=args.resolution)
            start = time.perf_counter()
            result = train(
                shards, os.path.join(tmp, "model"), monitor=args.monitor, patience=args.patience
            )
            seconds = time.perf_counter() - start
            vs_given, vs_true, n = test_accuracy(
                shards, os.path.join(tmp, "model"), os.path.join(raw, "ground_truth.csv")
            )
        print(
            f"label noise {noise:.3f}, early stopping on {args.monitor} "
            f"(patience {args.patience}): test accuracy {vs_given:.3f} vs given labels, "
            f"{vs_true:.3f} vs true labels ({n} test faces); {result.epochs_run} epochs, "
            f"train {seconds:.0f}s on {os.cpu_count()} CPU cores"
        )


if __name__ == "__main__":
    main()
