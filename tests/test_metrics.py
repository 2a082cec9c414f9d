"""evaluate's numbers against a tiny case worked out by hand, and the blessing rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glasses.evaluation.evaluate import bless
from glasses.evaluation.metrics import classification_metrics, roc_curve

# pred at 0.5: 1 0 0 1 1 0 -> TP 2 (0, 4), FN 1 (1), FP 1 (3), TN 2 (2, 5)
LABELS = np.array([1, 1, 0, 0, 1, 0])
PROBS = np.array([0.9, 0.45, 0.3, 0.55, 0.8, 0.1])


def test_metrics_of_a_case_worked_by_hand() -> None:
    m = classification_metrics(LABELS, PROBS, 0.4, 0.6)
    assert m["examples"] == 6
    assert m["confusion_matrix"]["matrix"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # positives {.9, .45, .8} against negatives {.3, .55, .1}: 8 of 9 pairs ordered right
    assert m["roc_auc"] == pytest.approx(8 / 9)
    loss = -np.mean(np.log([0.9, 0.45, 0.7, 0.45, 0.8, 0.9]))
    assert m["loss"] == pytest.approx(loss)
    # 0.45 and 0.55 are in the band; the other four are all right
    assert m["uncertain_fraction"] == pytest.approx(2 / 6)
    assert m["confident_examples"] == 4 and m["confident_accuracy"] == 1.0
    # one face per bin, gaps .1 .55 .3 .55 .2 .1
    assert m["ece"] == pytest.approx(1.8 / 6)
    filled = [b for b in m["reliability"] if b["count"]]
    assert [b["low"] for b in filled] == [0.1, 0.3, 0.4, 0.5, 0.8, 0.9]
    assert sum(b["count"] for b in m["reliability"]) == 6


def test_roc_points_by_hand() -> None:
    roc = roc_curve(LABELS, PROBS)
    third = 1 / 3
    assert roc["tpr"] == pytest.approx([0, third, 2 * third, 2 * third, 1, 1, 1])
    assert roc["fpr"] == pytest.approx([0, 0, 0, third, third, 2 * third, 1])
    assert roc["thresholds"] == pytest.approx([1.9, 0.9, 0.8, 0.55, 0.45, 0.3, 0.1])


def test_auc_equals_the_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    probs = np.round(rng.random(300) * 0.5 + labels * 0.3, 2)  # rounded: many ties
    pos, neg = probs[labels == 1], probs[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    m = classification_metrics(labels, probs)
    assert m["roc_auc"] == pytest.approx(pairs / (len(pos) * len(neg)))


def test_one_class_has_no_auc_and_saturated_loss_is_finite() -> None:
    m = classification_metrics(np.array([1, 1]), np.array([1.0, 0.0]))
    assert m["roc_auc"] is None
    assert math.isfinite(m["loss"]) and m["accuracy"] == 0.5


def test_blessing_rules() -> None:
    assert not bless(0.80, 0.85, None, 0.01)[0]  # below the threshold
    ok, reason = bless(0.90, 0.85, None, 0.01)
    assert ok and "no baseline" in reason
    ok, reason = bless(0.90, 0.85, 0.95, 0.01)  # baseline better by more than allowed
    assert not ok and "baseline" in reason
    assert bless(0.945, 0.85, 0.95, 0.01)[0]  # within the allowed regression
    assert bless(0.97, 0.85, 0.95, 0.01)[0]  # baseline worse
    assert not bless(0.90, 0.95, 0.80, 0.01)[0]  # the threshold holds even against a baseline
