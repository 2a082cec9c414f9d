"""The issue-4 quality goal: test accuracy at 64 px on 2000 labelled synthetic faces, with clean
labels and with 11.5 % planted label noise (scored against the true labels kept in
ground_truth.csv). Each setting is trained with several seeds on the same data, because the
spread between seeds is as large as most effects worth measuring.

    python benchmarks/quality.py [--noise 0 0.115] [--seeds 0 1 2 3 4] [--monitor val_accuracy]
                                 [--patience 10] [--hparams '{"augment": true}']
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import tempfile
import time

import numpy as np

from glasses import synth
from glasses.dataset import make_dataset
from glasses.ingest import ingest
from glasses.model import HParams
from glasses.shard import shard
from glasses.train import train


def accuracies(shards: str, model_dir: str, truth_csv: str) -> tuple[float, float, int]:
    """Test accuracy against the given labels and against the true labels."""
    import keras

    model = keras.models.load_model(os.path.join(model_dir, "model.keras"), compile=False)
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
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--monitor", default="val_loss")
    parser.add_argument("--patience", type=int, default=10)  # glasses train's default
    parser.add_argument("--hparams", default="{}", help="JSON overrides of the defaults")
    args = parser.parse_args()
    hp = dataclasses.replace(HParams(), **json.loads(args.hparams))
    for noise in args.noise:
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "raw")
            synth.synth(
                raw, count=args.count, size=args.size, unlabelled_fraction=0.0,
                label_noise=noise, seed=0,
            )  # fmt: skip
            ingest(raw, os.path.join(tmp, "ingested"))
            shards = os.path.join(tmp, "shards")
            shard(os.path.join(tmp, "ingested", "manifest.csv"), shards, resolution=args.resolution)
            vs_true_all = []
            for seed in args.seeds:
                model_dir = os.path.join(tmp, f"model-{seed}")
                start = time.perf_counter()
                result = train(
                    shards, model_dir, hparams=hp, monitor=args.monitor,
                    patience=args.patience, seed=seed,
                )  # fmt: skip
                seconds = time.perf_counter() - start
                truth_csv = os.path.join(raw, "ground_truth.csv")
                vs_given, vs_true, n = accuracies(shards, model_dir, truth_csv)
                vs_true_all.append(vs_true)
                with open(os.path.join(model_dir, "history.json")) as f:
                    dropped = json.load(f).get("drop_rate", [0.0])[-1]
                print(
                    f"noise {noise:.3f} seed {seed}: test accuracy {vs_given:.3f} vs given, "
                    f"{vs_true:.3f} vs true labels ({n} faces); {result.epochs_run} epochs, "
                    f"{dropped:.3f} of each batch left out at the end, "
                    f"{seconds:.0f}s on {os.cpu_count()} CPU cores",
                    flush=True,
                )
        print(
            f"noise {noise:.3f}, {args.monitor} patience {args.patience}, {args.hparams}: "
            f"vs true labels mean {np.mean(vs_true_all):.3f}, min {min(vs_true_all):.3f}, "
            f"max {max(vs_true_all):.3f} over {len(vs_true_all)} seeds",
            flush=True,
        )


if __name__ == "__main__":
    main()
