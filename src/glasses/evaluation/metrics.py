"""Binary classification metrics as plain numpy, so evaluate's numbers can be checked by hand.

Conventions: label 1 = glasses; the decision and the uncertain band are glasses.model.decision's;
calibration is of p(glasses) in equal-width bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glasses import defaults
from glasses.model.decision import LABEL_NAMES, correct, predicted, uncertain

_EPS = 1e-7  # Keras' clipping of probabilities inside binary cross-entropy


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean binary cross-entropy, clipped like Keras so one saturated answer is not infinite."""
    p = np.clip(probs.astype(np.float64), _EPS, 1 - _EPS)
    y = labels.astype(np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def confusion(labels: np.ndarray, probs: np.ndarray) -> list[list[int]]:
    """[[tn, fp], [fn, tp]]: rows are true labels, columns predictions (no glasses, glasses)."""
    y = labels.astype(bool)
    pred = predicted(probs)
    return [
        [int((~y & ~pred).sum()), int((~y & pred).sum())],
        [int((y & ~pred).sum()), int((y & pred).sum())],
    ]


def roc_curve(labels: np.ndarray, probs: np.ndarray) -> dict[str, list[float]]:
    """ROC points from (0, 0) to (1, 1), one per distinct score: predicted positive if p >= t.

    The first point's threshold is max(p) + 1 (nothing predicted positive), as scikit-learn did
    before it switched to infinity, which JSON cannot hold.
    """
    y = labels.astype(bool)
    order = np.argsort(-probs, kind="stable")
    p_sorted, y_sorted = probs[order], y[order]
    # the last index of each run of equal scores: a threshold admits all ties at once
    last = np.r_[np.nonzero(np.diff(p_sorted))[0], len(p_sorted) - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    positives, negatives = int(y.sum()), int((~y).sum())
    tpr = np.r_[0.0, tp / positives] if positives else np.zeros(len(last) + 1)
    fpr = np.r_[0.0, fp / negatives] if negatives else np.zeros(len(last) + 1)
    top = float(p_sorted[0]) + 1.0 if len(p_sorted) else 1.0
    thresholds = np.r_[top, p_sorted[last]]
    return {
        "fpr": [float(v) for v in fpr],
        "tpr": [float(v) for v in tpr],
        "thresholds": [float(v) for v in thresholds],
    }


def auc(fpr: list[float], tpr: list[float]) -> float:
    """Area under a curve by the trapezoid rule."""
    x, y = np.asarray(fpr), np.asarray(tpr)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def reliability(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability diagram data and expected calibration error (ECE).

    Bin b holds p in [b/bins, (b+1)/bins) (the last bin includes 1.0). ECE is the count-weighted
    mean gap between each bin's mean p and its fraction of glasses.
    """
    index = np.minimum((probs * bins).astype(int), bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        row: dict[str, Any] = {"low": b / bins, "high": (b + 1) / bins, "count": count}
        if count:
            mean_p = float(probs[members].mean())
            positive = float(labels[members].mean())
            row.update(mean_probability=mean_p, fraction_glasses=positive)
            ece += count / len(probs) * abs(mean_p - positive)
        else:
            row.update(mean_probability=None, fraction_glasses=None)
        rows.append(row)
    return {"ece": float(ece), "bins": rows}


def classification_metrics(
    labels: np.ndarray,
    probs: np.ndarray,
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
    calibration_bins: int = 10,
) -> dict[str, Any]:
    """Every number evaluate reports for one set of labelled predictions."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    probs = np.asarray(probs).astype(np.float64).reshape(-1)
    if len(labels) != len(probs) or not len(labels):
        raise ValueError(f"need equal, non-zero numbers of labels and probabilities: "
                         f"{len(labels)} and {len(probs)}")  # fmt: skip
    (tn, fp), (fn, tp) = confusion(labels, probs)
    right = correct(labels, probs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    roc = roc_curve(labels, probs)
    unsure = uncertain(probs, uncertain_low, uncertain_high)
    confident = int((~unsure).sum())
    calibration = reliability(labels, probs, calibration_bins)
    return {
        "examples": len(labels),
        "accuracy": float(right.mean()),
        "loss": log_loss(labels, probs),
        "roc_auc": auc(roc["fpr"], roc["tpr"]) if 0 < labels.sum() < len(labels) else None,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion_matrix": {"labels": list(LABEL_NAMES), "matrix": [[tn, fp], [fn, tp]]},
        "roc_curve": roc,
        "uncertain_band": [uncertain_low, uncertain_high],
        "uncertain_fraction": float(unsure.mean()),
        "confident_examples": confident,
        "confident_accuracy": float(right[~unsure].mean()) if confident else None,
        "ece": calibration["ece"],
        "reliability": calibration["bins"],
    }


def thin_roc(roc: dict[str, list[float]], max_points: int = 200) -> dict[str, list[float]]:
    """At most ``max_points`` evenly spaced ROC points, the ends kept: KFP's ROC viewer stores
    every point in its metadata store, and a 5000-face test set would give thousands."""
    n = len(roc["fpr"])
    if n <= max_points:
        return roc
    keep = sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
    return {k: [v[i] for i in keep] for k, v in roc.items()}
