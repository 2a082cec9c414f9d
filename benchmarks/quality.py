"""Model quality at 64 px against the true labels, on both drawing styles, clean and noisy.

For each drawing style defaults are chosen on (`glasses synth --style classic`, `portrait`)
and each label-noise level: 2000 labelled
synthetic faces are ingested, sharded and trained on with several seeds (the spread between
seeds is as large as most effects worth measuring). Each model is then measured where one face
is not worth half a percent: an independent evaluation set of fresh faces of the same style
(1000 by default, never seen in training), scored with `glasses score` (the served path) and
compared with the true labels in ground_truth.csv. The test split's accuracy against the true
labels is printed beside it. `--styles sketch` measures the style held out from tuning: run
it only on defaults already chosen, or it stops standing for faces nobody has seen.

    python benchmarks/quality.py [--styles classic portrait] [--noise 0 0.115]
        [--seeds 0 1 2 3 4] [--eval-count 1000] [--monitor val_accuracy] [--patience 10]
        [--hparams '{"drop_noisy": 0}']
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from glasses import defaults, synth
from glasses.data.dataset import make_dataset
from glasses.data.ingest import ingest
from glasses.data.shard import shard
from glasses.model.hparams import HParams
from glasses.model.predict import Predictor
from glasses.model.train import train
from glasses.scoring.score import score
from glasses.synth.dataset import IMAGE_DIR
from glasses.synth.faces import TUNING_STYLES


@dataclass(frozen=True)
class Result:
    style: str
    noise: float
    seed: int
    test_vs_true: float  # the test split (131-192 faces)
    eval_vs_true: float  # the independent evaluation set, scored with glasses score
    eval_faces: int
    epochs: int
    seconds: float


def _truth(raw: str) -> dict[int, int]:
    with open(os.path.join(raw, "ground_truth.csv")) as f:
        return {int(r["id"]): int(r["true_label"]) for r in csv.DictReader(f)}


def test_split_vs_true(
    shards: str, model_dir: str, truth: dict[int, int], splits: Sequence[str] = ("test",)
) -> float:
    """Accuracy of the saved model against the true labels on ``splits`` of ``shards``."""
    predictor = Predictor(model_dir)
    hits = total = 0
    for split in splits:
        for batch in make_dataset(shards, split, 256, with_ids=True):
            p = predictor.predict(batch["image"].numpy())
            ids = [int(i.decode()) for i in batch["id"].numpy()]
            hits += sum(int(pi >= 0.5) == truth[i] for pi, i in zip(p, ids, strict=True))
            total += len(ids)
    return hits / total


def scored_vs_true(
    model_dir: str, faces: str, out: str, truth: dict[int, int]
) -> tuple[float, int]:
    """Accuracy of `glasses score` on a folder of faces named face-{id}.png."""
    score(model_dir, faces, out, workers=1)
    with open(os.path.join(out, "predictions.csv")) as f:
        rows = list(csv.DictReader(f))
    hits = sum(int(r["label"]) == truth[int(r["id"].split("-")[1].split(".")[0])] for r in rows)
    return hits / len(rows), len(rows)


def run(
    styles: Sequence[str],
    noises: Sequence[float],
    seeds: Sequence[int],
    hparams: HParams,
    count: int = 2000,
    eval_count: int = 1000,
    size: int = 256,
    resolution: int = 64,
    monitor: str = defaults.MONITOR,
    patience: int = 10,
    epochs: int = 30,
) -> list[Result]:
    results = []
    for style in styles:
        with tempfile.TemporaryDirectory() as tmp:
            held_out = os.path.join(tmp, "eval")
            synth.synth(
                held_out,
                count=eval_count,
                size=size,
                unlabelled_fraction=0.0,
                seed=1000,
                style=style,
            )
            eval_truth = _truth(held_out)
            for noise in noises:
                raw = os.path.join(tmp, f"raw-{noise}")
                synth.synth(
                    raw,
                    count=count,
                    size=size,
                    unlabelled_fraction=0.0,
                    label_noise=noise,
                    seed=0,
                    style=style,
                )
                ingest(raw, os.path.join(tmp, f"ingested-{noise}"))
                shards = os.path.join(tmp, f"shards-{noise}")
                shard(
                    os.path.join(tmp, f"ingested-{noise}", "manifest.csv"),
                    shards,
                    resolution=resolution,
                )
                for seed in seeds:
                    model_dir = os.path.join(tmp, f"model-{noise}-{seed}")
                    start = time.perf_counter()
                    trained = train(
                        shards,
                        model_dir,
                        hparams=hparams,
                        monitor=monitor,
                        patience=patience,
                        seed=seed,
                        epochs=epochs,
                    )
                    seconds = time.perf_counter() - start
                    on_eval, n = scored_vs_true(
                        model_dir,
                        os.path.join(held_out, IMAGE_DIR),
                        os.path.join(tmp, f"pred-{noise}-{seed}"),
                        eval_truth,
                    )
                    result = Result(
                        style,
                        noise,
                        seed,
                        test_split_vs_true(shards, model_dir, _truth(raw)),
                        on_eval,
                        n,
                        trained.epochs_run,
                        seconds,
                    )
                    print(
                        f"{style} noise {noise:.3f} seed {seed}: {result.eval_vs_true:.3f} vs "
                        f"true labels on {n} fresh faces ({result.test_vs_true:.3f} on the test "
                        f"split); {result.epochs} epochs, {seconds:.0f}s",
                        flush=True,
                    )
                    results.append(result)
    return results


def summary(results: Sequence[Result]) -> list[str]:
    """One line per (style, noise): mean, worst and best seed on the evaluation set."""
    lines = []
    for style in dict.fromkeys(r.style for r in results):
        for noise in dict.fromkeys(r.noise for r in results if r.style == style):
            mine = [r for r in results if r.style == style and r.noise == noise]
            acc = [r.eval_vs_true for r in mine]
            lines.append(
                f"{style:8s} noise {noise:.3f}: {np.mean(acc):.3f} mean ({min(acc):.3f}-"
                f"{max(acc):.3f}) over {len(acc)} seeds, {mine[0].eval_faces} fresh faces; "
                f"{np.mean([r.seconds for r in mine]):.0f}s per run"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", nargs="+", default=list(TUNING_STYLES))
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.115])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--eval-count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--monitor", default=defaults.MONITOR)
    parser.add_argument("--patience", type=int, default=10)  # glasses train's default
    parser.add_argument("--hparams", default="{}", help="JSON overrides of the defaults")
    args = parser.parse_args()
    hp = dataclasses.replace(HParams(), **json.loads(args.hparams))
    results = run(
        args.styles,
        args.noise,
        args.seeds,
        hp,
        count=args.count,
        eval_count=args.eval_count,
        size=args.size,
        resolution=args.resolution,
        monitor=args.monitor,
        patience=args.patience,
        epochs=args.epochs,
    )
    print(f"defaults with {args.hparams}, {args.monitor} patience {args.patience}:")
    print("\n".join(summary(results)))


if __name__ == "__main__":
    main()
