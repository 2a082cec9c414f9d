"""Model quality against the true labels, on both drawing styles, clean and noisy.

For each drawing style defaults are chosen on (`glasses synth --style classic`, `portrait`),
each label-noise level and each noise model (`glasses synth --noise-model`: `uniform`, a coin
toss per label; `instance`, flips where the faces are hard, as in the real data): 2000
labelled synthetic faces are ingested, sharded and trained on with several seeds (the spread
between seeds is as large as most effects worth measuring). Each model is then measured where
one face is not worth half a percent: an independent evaluation set of fresh faces of the same
style (1000 by default, never seen in training), scored with `glasses score` (the served path)
and compared with the true labels in ground_truth.csv, on all of them and on the hard ones
(hardness at least glasses.synth.noise.HARD: faint frames, frame-like eye regions). The test
split's accuracy against the true labels is printed beside it. `--styles sketch` measures the
style held out from tuning: run it only on defaults already chosen, or it stops standing for
faces nobody has seen.

    python benchmarks/quality.py [--styles classic portrait] [--noise 0 0.115]
        [--noise-model uniform instance] [--noise-asymmetry 0.8] [--seeds 0 1 2 3 4]
        [--eval-count 1000] [--resolution 64] [--hparams '{"drop_noisy": 0}']
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
from glasses.synth.noise import HARD


@dataclass(frozen=True)
class Result:
    style: str
    noise: float
    noise_model: str
    seed: int
    test_vs_true: float  # the test split (131-192 faces)
    eval_vs_true: float  # the independent evaluation set, scored with glasses score
    eval_hard: float  # ... its hard faces
    eval_faces: int
    hard_faces: int
    epochs: int
    seconds: float


def _truth(raw: str) -> dict[int, int]:
    with open(os.path.join(raw, "ground_truth.csv")) as f:
        return {int(r["id"]): int(r["true_label"]) for r in csv.DictReader(f)}


def hard_ids(raw: str) -> set[int]:
    """The faces of a synth folder at least HARD to read."""
    with open(os.path.join(raw, "ground_truth.csv")) as f:
        return {int(r["id"]) for r in csv.DictReader(f) if float(r["hardness"]) >= HARD}


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


@dataclass(frozen=True)
class FreshFaces:
    """The independent evaluation set: faces no model trained on, with their truth."""

    images: str
    truth: dict[int, int]
    hard: set[int]


def fresh_faces(root: str, style: str, count: int, size: int) -> FreshFaces:
    """``count`` fresh faces of ``style`` (seed 1000: never a training seed) under ``root``."""
    held_out = os.path.join(root, "eval")
    synth.synth(held_out, count=count, size=size, unlabelled_fraction=0.0, seed=1000,
                style=style)  # fmt: skip
    return FreshFaces(os.path.join(held_out, IMAGE_DIR), _truth(held_out), hard_ids(held_out))


@dataclass(frozen=True)
class Scored:
    accuracy: float
    faces: int
    hard_accuracy: float
    hard_faces: int


def scored_vs_true(
    model_dir: str, faces: str, out: str, truth: dict[int, int], hard: set[int] = frozenset()
) -> Scored:
    """Accuracy of `glasses score` on a folder of faces named face-{id}.png, on all of them
    and on the ``hard`` ones (nan without any)."""
    score(model_dir, faces, out, workers=1)
    with open(os.path.join(out, "predictions.csv")) as f:
        rows = list(csv.DictReader(f))
    said = {int(r["id"].split("-")[1].split(".")[0]): int(r["label"]) for r in rows}
    hits = {i: label == truth[i] for i, label in said.items()}
    on_hard = [hits[i] for i in hits if i in hard]
    return Scored(
        sum(hits.values()) / len(hits),
        len(hits),
        float(np.mean(on_hard)) if on_hard else float("nan"),
        len(on_hard),
    )


def run(
    styles: Sequence[str],
    noises: Sequence[float],
    seeds: Sequence[int],
    hparams: HParams,
    count: int = 2000,
    eval_count: int = 1000,
    size: int = 256,
    resolution: int = defaults.RESOLUTION,
    monitor: str = defaults.MONITOR,
    patience: int = defaults.PATIENCE,
    epochs: int = defaults.EPOCHS,
    noise_models: Sequence[str] = ("uniform",),
    noise_asymmetry: float | None = defaults.NOISE_ASYMMETRY,
) -> list[Result]:
    """Every (style, noise level, noise model, seed): train, score, compare with the truth.
    Clean labels (noise 0) are trained once, whatever the noise models."""
    results = []
    for style in styles:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = fresh_faces(tmp, style, eval_count, size)
            labels = [(n, m) for n in noises for m in (noise_models if n else noise_models[:1])]
            for noise, model in labels:
                tag = f"{noise}-{model}"
                raw = os.path.join(tmp, f"raw-{tag}")
                synth.synth(raw, count=count, size=size, unlabelled_fraction=0.0,
                            label_noise=noise, seed=0, style=style, noise_model=model,
                            noise_asymmetry=noise_asymmetry)  # fmt: skip
                ingest(raw, os.path.join(tmp, f"ingested-{tag}"))
                shards = os.path.join(tmp, f"shards-{tag}")
                shard(os.path.join(tmp, f"ingested-{tag}", "manifest.csv"), shards,
                      resolution=resolution)  # fmt: skip
                for seed in seeds:
                    model_dir = os.path.join(tmp, f"model-{tag}-{seed}")
                    start = time.perf_counter()
                    trained = train(shards, model_dir, hparams=hparams, monitor=monitor,
                                    patience=patience, seed=seed, epochs=epochs)  # fmt: skip
                    seconds = time.perf_counter() - start
                    scored = scored_vs_true(model_dir, fresh.images,
                                            os.path.join(tmp, f"pred-{tag}-{seed}"),
                                            fresh.truth, fresh.hard)  # fmt: skip
                    result = Result(
                        style, noise, model if noise else "clean", seed,
                        test_split_vs_true(shards, model_dir, _truth(raw)), scored.accuracy,
                        scored.hard_accuracy, scored.faces, scored.hard_faces,
                        trained.epochs_run, seconds,
                    )  # fmt: skip
                    print(f"{style} noise {noise:.3f} {result.noise_model} seed {seed}: "
                          f"{result.eval_vs_true:.3f} vs true labels on {scored.faces} fresh "
                          f"faces, {result.eval_hard:.3f} on the {scored.hard_faces} hard ones "
                          f"({result.test_vs_true:.3f} on the test split); {result.epochs} "
                          f"epochs, {seconds:.0f}s", flush=True)  # fmt: skip
                    results.append(result)
    return results


def summary(results: Sequence[Result]) -> list[str]:
    """One line per (style, noise, noise model): mean, worst and best seed on the evaluation
    set, on all faces and on the hard ones."""
    lines = []
    for key in dict.fromkeys((r.style, r.noise, r.noise_model) for r in results):
        mine = [r for r in results if (r.style, r.noise, r.noise_model) == key]
        acc, hard = [r.eval_vs_true for r in mine], [r.eval_hard for r in mine]
        lines.append(
            f"{key[0]:8s} noise {key[1]:.3f} {key[2]:8s}: {np.mean(acc):.3f} mean "
            f"({min(acc):.3f}-{max(acc):.3f}), hard faces {np.mean(hard):.3f} "
            f"({min(hard):.3f}-{max(hard):.3f}) over {len(acc)} seeds, {mine[0].eval_faces} "
            f"fresh faces ({mine[0].hard_faces} hard); "
            f"{np.mean([r.seconds for r in mine]):.0f}s per run"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--styles", nargs="+", default=list(TUNING_STYLES))
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.115])
    parser.add_argument("--noise-model", nargs="+", default=["uniform", "instance"])
    parser.add_argument("--noise-asymmetry", type=float, default=defaults.NOISE_ASYMMETRY)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--eval-count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--resolution", type=int, default=defaults.RESOLUTION)
    parser.add_argument("--epochs", type=int, default=defaults.EPOCHS)
    parser.add_argument("--monitor", default=defaults.MONITOR)
    parser.add_argument("--patience", type=int, default=defaults.PATIENCE)
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
        noise_models=args.noise_model,
        noise_asymmetry=args.noise_asymmetry,
    )
    print(f"defaults with {args.hparams}, {args.monitor} patience {args.patience}:")
    print("\n".join(summary(results)))


if __name__ == "__main__":
    main()
