"""The label audit against the truth: which flagged faces were really flipped, how many wrong
labels sit at the top of its review queue, and what training on the labels it trusts buys.

For each style, data seed and noise model (`glasses synth --noise-model`: `uniform`, a coin
toss per label; `instance`, flips where the faces are hard, as in the real data): 2000 labelled
synthetic faces with 11.5 % of the labels flipped are ingested and sharded at 64 px, and
`glasses audit` (defaults) runs on them. Its flags are compared with ground_truth.csv, for the
default filter and every other cleanlab filter on the same out-of-fold probabilities: precision,
recall, recall on the hard faces (hardness at least glasses.synth.noise.HARD), and precision
over the top k of its ranking (k = the number of flips: what a reviewer working down the queue
sees). Then ingest is run again with the audit's corrections.csv (every flagged face dropped),
and the defaults trained on what is left are scored with `glasses score` on 1000 fresh faces
of the same style against the truth (all and hard), next to the defaults trained on all the
given labels. `--clean` audits the same faces with clean labels too (what it flags there is
all false alarms).

    python benchmarks/audit_quality.py [--seeds 0 1 2] [--train-seeds 0 1 2 3 4]
        [--styles classic] [--noise-model uniform instance] [--noise-asymmetry 0.8]
        [--count 2000] [--clean [--clean-only]]
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from quality import _truth, fresh_faces, hard_ids, scored_vs_true

from glasses import defaults, synth
from glasses.artifacts import CORRECTIONS, LABEL_ISSUES
from glasses.audit.audit import audit
from glasses.audit.flags import FILTERS
from glasses.audit.folds import Settings
from glasses.data.ingest import ingest
from glasses.data.shard import shard
from glasses.model.hparams import HParams
from glasses.model.train import train

NOISE = 0.115


@dataclass(frozen=True)
class Flags:
    """One filter's flags against the planted flips."""

    flagged: int
    precision: float
    recall: float
    recall_hard: float  # of the flips on hard faces, the share flagged (nan without any)


@dataclass(frozen=True)
class Trained:
    labels: str  # "given labels" or "audit drop"
    train_seed: int
    accuracy: float  # on fresh faces, against the truth
    hard_accuracy: float


@dataclass(frozen=True)
class AuditResult:
    style: str
    seed: int
    noise: float
    noise_model: str
    faces: int
    flips: int
    flags: dict[str, Flags]  # per cleanlab filter, on the last round's probabilities
    first_round: Flags  # the default filter on the first round's probabilities
    precision_at_k: float  # the ranking's top k (k = flips), the review queue's head
    undecided: int  # kept with the given label, in the review queue
    seconds: float
    trained: list[Trained]


def prepare(
    root: str,
    count: int,
    noise: float,
    seed: int,
    style: str,
    noise_model: str = "uniform",
    noise_asymmetry: float | None = defaults.NOISE_ASYMMETRY,
    corrections: Sequence[str] = (),
    size: int = 256,
    resolution: int = defaults.RESOLUTION,
) -> tuple[str, str]:
    raw = os.path.join(root, f"raw-{noise}-{noise_model}")
    if not os.path.exists(os.path.join(raw, "train.csv")):
        synth.synth(raw, count=count, size=size, unlabelled_fraction=0.0, label_noise=noise,
                    seed=seed, style=style, noise_model=noise_model,
                    noise_asymmetry=noise_asymmetry)  # fmt: skip
    tag = f"{noise}-{noise_model}-" + ("fixed" if corrections else "given")
    ingested = os.path.join(root, f"ingested-{tag}")
    ingest(raw, ingested, label_corrections=corrections)
    shards = os.path.join(root, f"shards-{tag}")
    shard(os.path.join(ingested, "manifest.csv"), shards, resolution=resolution)
    return raw, shards


def _rows(audit_dir: str, first_round: bool) -> list[dict[str, str]]:
    names = (
        sorted(glob.glob(os.path.join(audit_dir, "_parts", "round-1-fold-*.csv")))
        if first_round
        else [os.path.join(audit_dir, LABEL_ISSUES)]
    )
    rows: list[dict[str, str]] = []
    for name in names:
        with open(name) as f:
            rows.extend(csv.DictReader(f))
    return rows


def flags_vs_truth(
    audit_dir: str, truth: dict[int, int], hard: set[int], first_round: bool = False
) -> dict[str, Flags]:
    """Each cleanlab filter's flags on the audit's probabilities (of its first round's models,
    with ``first_round``: what the later rounds buy) against the planted flips."""
    from cleanlab.filter import find_label_issues

    rows = _rows(audit_dir, first_round)
    ids = np.array([int(r["id"]) for r in rows])
    labels = np.array([int(r["given_label"]) for r in rows])
    p = np.array([float(r["p_glasses"]) for r in rows])
    flipped = {int(i) for i, g in zip(ids, labels, strict=True) if g != truth[int(i)]}
    out = {}
    for method in FILTERS.values:
        found = set(ids[find_label_issues(labels, np.stack([1 - p, p], 1), filter_by=method)])
        hits = len(found & flipped)
        on_hard = flipped & hard
        out[method] = Flags(
            len(found),
            hits / max(1, len(found)),
            hits / max(1, len(flipped)),
            len(found & on_hard) / len(on_hard) if on_hard else float("nan"),
        )
    return out


def precision_at_k(audit_dir: str, truth: dict[int, int]) -> tuple[float, int]:
    """The share of truly flipped faces among the k the audit ranks worst (label_issues.csv is
    worst first), k = the number of flips; and k."""
    rows = _rows(audit_dir, first_round=False)
    flipped = [int(r["given_label"]) != truth[int(r["id"])] for r in rows]
    k = sum(flipped)
    return (sum(flipped[:k]) / k if k else float("nan")), k


def run(
    styles: Sequence[str],
    seeds: Sequence[int],
    train_seeds: Sequence[int],
    noise_models: Sequence[str] = ("uniform", "instance"),
    noise_asymmetry: float | None = defaults.NOISE_ASYMMETRY,
    noise: float = NOISE,
    count: int = 2000,
    eval_count: int = 1000,
    size: int = 256,
    resolution: int = defaults.RESOLUTION,
    settings: Settings | None = None,
    hparams: HParams | None = None,
    epochs: int = defaults.EPOCHS,
) -> list[AuditResult]:
    """Every (style, data seed, noise model): audit, compare with the truth, drop-then-train.
    ``noise`` 0 audits clean labels (every flag a false alarm)."""
    results = []
    for style in styles:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = fresh_faces(tmp, style, eval_count, size)
            for seed in seeds:
                for model in noise_models if noise else noise_models[:1]:
                    root = os.path.join(tmp, f"{seed}-{model}")
                    raw, shards = prepare(root, count, noise, seed, style, model,
                                          noise_asymmetry, size=size,
                                          resolution=resolution)  # fmt: skip
                    truth, hard = _truth(raw), hard_ids(raw)
                    out = os.path.join(root, "audit")
                    start = time.perf_counter()
                    report = audit(shards, out, settings or Settings(seed=seed))
                    seconds = time.perf_counter() - start
                    assert report is not None
                    top, k = precision_at_k(out, truth)
                    result = AuditResult(
                        style, seed, noise, model if noise else "clean", report["faces"], k,
                        flags_vs_truth(out, truth, hard),
                        flags_vs_truth(out, truth, hard, first_round=True)[defaults.AUDIT_FILTER],
                        top, report["undecided"], seconds, [],
                    )  # fmt: skip
                    _, fixed = prepare(root, count, noise, seed, style, model, noise_asymmetry,
                                       [os.path.join(out, CORRECTIONS)], size,
                                       resolution)  # fmt: skip
                    for train_seed in train_seeds:
                        for labels, data in (("given labels", shards), ("audit drop", fixed)):
                            model_dir = os.path.join(root, f"model-{labels[:5]}-{train_seed}")
                            train(data, model_dir, hparams=hparams, seed=train_seed,
                                  epochs=epochs)  # fmt: skip
                            scored = scored_vs_true(model_dir, fresh.images,
                                                    f"{model_dir}-scored", fresh.truth,
                                                    fresh.hard)  # fmt: skip
                            result.trained.append(Trained(labels, train_seed, scored.accuracy,
                                                          scored.hard_accuracy))  # fmt: skip
                    for line in lines(result):
                        print(line, flush=True)
                    results.append(result)
    return results


def lines(r: AuditResult) -> list[str]:
    """What one audit found, a line per filter, then its queue, time and the trained models."""
    head = f"{r.style} seed {r.seed} {r.noise_model} noise {r.noise}"
    out = [
        f"{head} {method}{' (default)' if method == defaults.AUDIT_FILTER else ''}: "
        f"{f.flagged} flagged, precision {f.precision:.3f}, recall {f.recall:.3f}, recall on "
        f"hard flips {f.recall_hard:.3f}"
        for method, f in r.flags.items()
    ]
    f = r.first_round
    out.append(f"{head} {defaults.AUDIT_FILTER}, first round's models only: {f.flagged} flagged, "
               f"precision {f.precision:.3f}, recall {f.recall:.3f}")  # fmt: skip
    out.append(f"{head}: precision over the top {r.flips} of the ranking {r.precision_at_k:.3f}; "
               f"{r.undecided} undecided faces to review; audit of {r.faces} faces "
               f"{r.seconds:.0f}s")  # fmt: skip
    out.extend(
        f"{head} train seed {t.train_seed}: {t.labels}: {t.accuracy:.3f} vs true labels on "
        f"fresh faces, {t.hard_accuracy:.3f} on the hard ones"
        for t in r.trained
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--styles", nargs="+", default=["classic"])
    parser.add_argument("--noise-model", nargs="+", default=["uniform", "instance"])
    parser.add_argument("--noise-asymmetry", type=float, default=defaults.NOISE_ASYMMETRY)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--clean", action="store_true", help="also audit clean labels (first seed's faces)"
    )
    parser.add_argument(
        "--clean-only", action="store_true", help="only the clean labels' audit (with --clean)"
    )
    args = parser.parse_args()
    for noise, seeds in ((NOISE, [] if args.clean_only else args.seeds),
                         (0.0, args.seeds[:1] if args.clean else [])):  # fmt: skip
        if seeds:
            run(args.styles, seeds, args.train_seeds, args.noise_model, args.noise_asymmetry,
                noise, args.count)  # fmt: skip


if __name__ == "__main__":
    main()
