"""Batch health defaults, measured: false alarms on in-distribution batches and detection of
shifted ones (`python benchmarks/health.py`, a few minutes on 2 cores).

A model is trained on synthetic faces (its reference profile is written with it); a fresh pool
of faces from the same generator, never seen in training, is cut into batches of 200:
- in-distribution: the faces as they are (every batch should be healthy);
- darkened: pixel values x 0.6; blurred: Gaussian blur of radius 1.5 px at 128 px;
- class mix: 95 % faces with glasses (the generator's mix is about 63.5 %);
- another drawing style: the same kind of people drawn by `glasses synth --style portrait`.
Each batch is scored with `glasses score` at the default thresholds, and the share flagged
unhealthy is printed per kind, with the reasons.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from glasses import synth
from glasses.data.ingest import ingest
from glasses.data.shard import shard
from glasses.model.train import train
from glasses.scoring.score import score

SIZE, RES, BATCH = 128, 64, 200
NESTED = Path("faces-spring-2020") / "faces-spring-2020"

SHIFTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "in-distribution": lambda im: im,
    "darkened x0.6": lambda im: Image.eval(im, lambda v: int(v * 0.6)),
    "blurred r=1.5": lambda im: im.filter(ImageFilter.GaussianBlur(1.5)),
}


def _batch(folder: Path, files: list[Path], change: Callable[[Image.Image], Image.Image]) -> str:
    folder.mkdir(parents=True)
    for f in files:
        with Image.open(f) as im:
            change(im.convert("RGB")).save(folder / f.name)
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="in-distribution batches")
    parser.add_argument("--shifted", type=int, default=10, help="batches of each shift")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        synth.synth(str(tmp / "train"), count=2000, size=SIZE, seed=0)
        ingest(str(tmp / "train"), str(tmp / "ingested"))
        shard(str(tmp / "ingested" / "manifest.csv"), str(tmp / "shards"), resolution=RES)
        train(str(tmp / "shards"), str(tmp / "model"), epochs=30, seed=0)
        pool_size = BATCH * max(args.batches, 2 * args.shifted) + 2000
        synth.synth(str(tmp / "pool"), count=pool_size, size=SIZE, seed=1,
                    unlabelled_fraction=0.0)  # fmt: skip
        with open(tmp / "pool" / "ground_truth.csv") as f:
            truth = {int(r["id"]): int(r["true_label"]) for r in csv.DictReader(f)}
        faces = sorted((tmp / "pool" / NESTED).glob("face-*.png"),
                       key=lambda p: int(p.stem.split("-")[1]))  # fmt: skip
        rng = np.random.default_rng(0)
        order = [faces[k] for k in rng.permutation(len(faces))]
        batches: list[tuple[str, str]] = []
        for b in range(args.batches):
            chunk = order[b * BATCH : (b + 1) * BATCH]
            batches.append(
                ("in-distribution", _batch(tmp / f"in-{b}", chunk, SHIFTS["in-distribution"]))
            )
        for kind in ("darkened x0.6", "blurred r=1.5"):
            for b in range(args.shifted):
                chunk = order[b * BATCH : (b + 1) * BATCH]
                batches.append((kind, _batch(tmp / f"{kind[:4]}-{b}", chunk, SHIFTS[kind])))
        with_glasses = [f for f in order if truth[int(f.stem.split("-")[1])] == 1]
        without = [f for f in order if truth[int(f.stem.split("-")[1])] == 0]
        for b in range(args.shifted):
            chunk = with_glasses[b * 190 : (b + 1) * 190] + without[b * 10 : (b + 1) * 10]
            batches.append(
                ("95 % glasses", _batch(tmp / f"mix-{b}", chunk, SHIFTS["in-distribution"]))
            )
        synth.synth(str(tmp / "portrait"), count=BATCH * args.shifted, size=SIZE, seed=2,
                    unlabelled_fraction=0.0, style="portrait")  # fmt: skip
        drawn = sorted((tmp / "portrait" / NESTED).glob("face-*.png"))
        for b in range(args.shifted):
            chunk = drawn[b * BATCH : (b + 1) * BATCH]
            batches.append(
                ("portrait style", _batch(tmp / f"style-{b}", chunk, SHIFTS["in-distribution"]))
            )
        flagged: Counter[str] = Counter()
        total: Counter[str] = Counter()
        reasons: dict[str, Counter[str]] = {}
        for kind, folder in batches:
            summary = score(str(tmp / "model"), folder, folder + "-pred", workers=1)
            total[kind] += 1
            if not summary.healthy:
                flagged[kind] += 1
                for r in summary.reasons:
                    reasons.setdefault(kind, Counter())[r.split(" (")[0].split(":")[0]] += 1
    print(f"batch health at the default thresholds, batches of {BATCH} faces at {SIZE} px "
          f"(model at {RES} px, reference = its validation split)")  # fmt: skip
    for kind in total:
        share = flagged[kind] / total[kind]
        what = "false alarms" if kind == "in-distribution" else "detected"
        common = ", ".join(f"{r} x{n}" for r, n in (reasons.get(kind) or Counter()).most_common(3))
        print(f"  {kind:16s} {flagged[kind]:3d}/{total[kind]:<3d} {what} ({share:.0%})  {common}")


if __name__ == "__main__":
    main()
