"""The audit's verdict on each labelled face, from the out-of-fold probabilities, by cleanlab
(the library the field uses for this): which given labels the probabilities contradict with
confidence (flags), how well each label fits (ranking), and each class's noise rate (from
cleanlab's confident joint)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np

from glasses import defaults
from glasses.data.review import verdict_of
from glasses.errors import OneOf
from glasses.model.decision import predicted, uncertain

# cleanlab.filter.find_label_issues' methods; the default was chosen by measurement
FILTERS = OneOf(("prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
                 "predicted_neq_given"))  # fmt: skip
Filter = Annotated[str, FILTERS]

Rows = list[dict[str, str]]  # fold parts' rows: id, split, given_label, p_glasses


@dataclass(frozen=True)
class AuditedFace:
    """One labelled face as the audit sees it: a row of label_issues.csv."""

    id: int
    uri: str
    split: str
    given_label: int
    p_glasses: float
    label_quality: float
    flagged: bool
    suggested_label: int


def review_reason(
    face: AuditedFace,
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
) -> str | None:
    """Why a person should look at this face, or None when the audit can decide alone.

    Flagged faces leave training (or change label) unless a reviewer says otherwise. A face
    the audit cannot decide on stays in training with its given label, so it goes to the
    review queue rather than silently in: the fold models' probability in the uncertain band,
    or leaning against the given label without the confidence cleanlab needs to flag it (the
    wrong labels on hard faces, measured, are mostly of this kind)."""
    given, lean = (
        verdict_of(face.given_label),
        verdict_of(int(predicted(np.asarray(face.p_glasses)))),
    )
    p = f"p(glasses) {face.p_glasses:.2f}"
    if face.flagged:
        return f'labelled "{given}"; the fold models say "{lean}" ({p})'
    if uncertain(np.asarray(face.p_glasses), uncertain_low, uncertain_high):
        band = f"{uncertain_low:.2f}-{uncertain_high:.2f}"
        return f'the fold models cannot tell ({p}, uncertain band {band}); kept as "{given}"'
    if lean != given:
        return f'labelled "{given}"; the fold models lean to "{lean}" ({p}), too weakly to flag'
    return None


@dataclass(frozen=True)
class Verdict:
    faces: list[AuditedFace]  # worst label first
    inverse_noise: Any  # P(true label | given label), cleanlab's inverse noise matrix
    confident_joint: Any


def given_and_probabilities(rows: Rows) -> tuple[Any, Any]:
    labels = np.array([int(r["given_label"]) for r in rows])
    p = np.array([float(r["p_glasses"]) for r in rows])
    return labels, np.stack([1.0 - p, p], axis=1)


def flagged_ids(rows: Rows, filter_by: str) -> set[int]:
    """The faces whose given label these probabilities contradict (a round's flags)."""
    from cleanlab.filter import find_label_issues

    labels, pred_probs = given_and_probabilities(rows)
    if len(set(labels.tolist())) < 2:
        return set()
    flagged = find_label_issues(labels, pred_probs, filter_by=filter_by)
    return {int(r["id"]) for r, f in zip(rows, flagged, strict=True) if f}


def judge(rows: Rows, filter_by: str, uris: Mapping[int, str]) -> Verdict:
    """Every face flagged or not, ranked by label quality, with the noise estimates. ``rows``
    hold two given labels at least (the caller checks)."""
    from cleanlab.count import estimate_py_and_noise_matrices_from_probabilities
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels, pred_probs = given_and_probabilities(rows)
    p = pred_probs[:, 1]
    flagged = find_label_issues(labels, pred_probs, filter_by=filter_by)
    quality = get_label_quality_scores(labels, pred_probs)
    _, _, inverse_noise, confident_joint = estimate_py_and_noise_matrices_from_probabilities(
        labels, pred_probs
    )
    faces = sorted(
        (
            AuditedFace(int(r["id"]), uris.get(int(r["id"]), ""), r["split"], int(lab),
                        float(pi), float(q), bool(f), int(pi >= 0.5) if f else int(lab))
            for r, lab, pi, q, f in zip(rows, labels, p, quality, flagged, strict=True)
        ),
        key=lambda face: (face.label_quality, face.id),
    )  # fmt: skip
    return Verdict(faces, inverse_noise, confident_joint)
