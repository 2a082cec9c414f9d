"""The label audit against the truth: which flagged faces were really flipped, and what training
on the labels it trusts buys.

For each data seed: 2000 labelled synthetic faces with 11.5 % of the labels flipped (and the
same faces with clean labels) are ingested and sharded at 64 px, and `glasses audit` (5 folds,
defaults) runs on them. Its flags are compared with ground_truth.csv, for the default filter
and every other cleanlab filter on the same out-of-fold probabilities. Then ingest is run again
with the audit's corrections.csv (every flagged face dropped), and the model trained on what is
left is measured against the true labels of every face of the original test split, next to a
model trained on all the given labels.

    python benchmarks/audit_quality.py [--seeds 0 1 2] [--train-seeds 0 1 2 3 4]
        [--styles classic] [--count 2000] [--clean [--clean-only]]
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

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from quality import _truth, test_split_vs_true

from glasses import defaults, synth
from glasses.artifacts import CORRECTIONS, LABEL_ISSUES
from glasses.audit.audit import audit
from glasses.audit.flags import FILTERS
from glasses.audit.folds import Settings
from glasses.data.ingest import ingest
from glasses.data.shard import shard
from glasses.model.train import train


def prepare(root: str, count: int, noise: float, seed: int, style: str,
            corrections: Sequence[str] = ()) -> tuple[str, str]:  # fmt: skip
    raw = os.path.join(root, f"raw-{noise}")
    if not os.path.exists(os.path.join(raw, "train.csv")):
        synth.synth(raw, count=count, size=256, unlabelled_fraction=0.0, label_noise=noise,
                    seed=seed, style=style)  # fmt: skip
    tag = "fixed" if corrections else "given"
    ingested = os.path.join(root, f"ingested-{noise}-{tag}")
    ingest(raw, ingested, label_corrections=corrections)
    shards = os.path.join(root, f"shards-{noise}-{tag}")
    shard(os.path.join(ingested, "manifest.csv"), shards, resolution=64)
    return raw, shards


def flags_vs_truth(
    audit_dir: str, truth: dict[int, int], first_round: bool = False
) -> dict[str, tuple[int, float, float]]:
    """(flagged, precision, recall) per cleanlab filter on the audit's probabilities (of its
    first round's models, with ``first_round``: what the later rounds buy)."""
    from cleanlab.filter import find_label_issues

    rows = []
    names = (
        sorted(glob.glob(os.path.join(audit_dir, "_parts", "round-1-fold-*.csv")))
        if first_round
        else [os.path.join(audit_dir, LABEL_ISSUES)]
    )
    for name in names:
        with open(name) as f:
            rows.extend(csv.DictReader(f))
    ids = np.array([int(r["id"]) for r in rows])
    labels = np.array([int(r["given_label"]) for r in rows])
    p = np.array([float(r["p_glasses"]) for r in rows])
    flipped = {int(i) for i, g in zip(ids, labels, strict=True) if g != truth[int(i)]}
    out = {}
    for method in FILTERS:
        found = set(ids[find_label_issues(labels, np.stack([1 - p, p], 1), filter_by=method)])
        hits = len(found & flipped)
        out[method] = (len(found), hits / max(1, len(found)), hits / max(1, len(flipped)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--styles", nargs="+", default=["classic"])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument(
        "--clean", action="store_true", help="also audit clean labels (first seed's faces)"
    )
    parser.add_argument(
        "--clean-only", action="store_true", help="only the clean labels' audit (with --clean)"
    )
    args = parser.parse_args()
    for style in args.styles:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as root:
                if not args.clean_only:
                    noisy(root, args.count, seed, style, args.train_seeds)
                if args.clean and seed == args.seeds[0]:
                    clean(root, args.count, seed, style, args.train_seeds)


def noisy(root: str, count: int, seed: int, style: str, train_seeds: Sequence[int]) -> None:
    raw, shards = prepare(root, count, 0.115, seed, style)
    truth = _truth(raw)
    out = os.path.join(root, "audit")
    start = time.perf_counter()
    report = audit(shards, out, Settings(seed=seed))
    seconds = time.perf_counter() - start
    assert report is not None
    for method, (n, precision, recall) in flags_vs_truth(out, truth).items():
        mark = " (default)" if method == defaults.AUDIT_FILTER else ""
        print(f"{style} seed {seed} {method}{mark}: {n} flagged, precision "
              f"{precision:.3f}, recall {recall:.3f}", flush=True)  # fmt: skip
    n, precision, recall = flags_vs_truth(out, truth, first_round=True)[defaults.AUDIT_FILTER]
    print(f"{style} seed {seed} {defaults.AUDIT_FILTER}, first round's models only: {n} "
          f"flagged, precision {precision:.3f}, recall {recall:.3f}")  # fmt: skip
    print(
        f"{style} seed {seed}: audit of {report['faces']} faces, 5 folds, "
        f"{seconds:.0f}s; estimated noise {report['estimated_noise_rate']}"
    )
    given_or_dropped(root, count, 0.115, seed, style, shards, out, truth, train_seeds)


def clean(root: str, count: int, seed: int, style: str, train_seeds: Sequence[int]) -> None:
    raw, shards = prepare(root, count, 0.0, seed, style)
    out = os.path.join(root, "audit-clean")
    report = audit(shards, out, Settings(seed=seed))
    assert report is not None
    print(
        f"{style} seed {seed} clean labels: {report['flagged']} of "
        f"{report['faces']} flagged ({report['flagged_share']:.1%})"
    )
    given_or_dropped(root, count, 0.0, seed, style, shards, out, _truth(raw), train_seeds)


def given_or_dropped(
    root: str,
    count: int,
    noise: float,
    seed: int,
    style: str,
    shards: str,
    audit_dir: str,
    truth: dict[int, int],
    train_seeds: Sequence[int],
) -> None:
    """The defaults trained on all given labels and on the labels the audit trusts, both
    measured on every face of the original test split against the truth."""
    _, fixed = prepare(root, count, noise, seed, style,
                       [os.path.join(audit_dir, CORRECTIONS)])  # fmt: skip
    for train_seed in train_seeds:
        for name, data in (("given labels", shards), ("audit drop", fixed)):
            model = os.path.join(root, f"model-{noise}-{name[:5]}-{train_seed}")
            train(data, model, seed=train_seed)
            accuracy = test_split_vs_true(shards, model, truth)
            print(
                f"{style} seed {seed} noise {noise} train seed {train_seed}: {name}: "
                f"{accuracy:.3f} vs true labels on the test split",
                flush=True,
            )


if __name__ == "__main__":
    main()
