"""What the audit hands on: label_issues.csv (every labelled face, worst label first),
corrections.csv (what ingest reads), the review queue for a person (the flagged and the
undecided faces: the review page and Label Studio tasks, with the labelling config), and
audit_report.json."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from typing import Any

import numpy as np

from glasses import storage
from glasses.artifacts import (
    AUDIT_PAGE,
    AUDIT_REPORT,
    CORRECTIONS,
    LABEL_ISSUES,
    LABEL_STUDIO_CONFIG,
    LABEL_STUDIO_TASKS,
)
from glasses.audit.flags import AuditedFace, Verdict, review_reason
from glasses.data.manifest import LABELLED_SPLITS
from glasses.data.review import DROP, LABEL_CONFIG, ReviewItem, label_studio_task
from glasses.model.decision import predicted
from glasses.pages import review

log = logging.getLogger(__name__)

ISSUE_COLUMNS = ("id", "uri", "split", "given_label", "p_glasses", "label_quality", "flagged",
                 "suggested_label")  # fmt: skip
MODEL_VERSION = "glasses-audit"  # the Label Studio tasks' pre-annotations come from the audit


def report(
    verdict: Verdict, context: dict[str, Any], sidecars: list[dict[str, Any]], missing: str
) -> dict[str, Any]:
    """audit_report.json: counts per split and class, flagged counts, the estimated noise rate
    per class, the confident joint, each fold's sidecar and the settings."""
    faces = verdict.faces

    def counts(selected: list[AuditedFace]) -> dict[str, Any]:
        per = Counter((f.split, str(f.given_label)) for f in selected)
        return {
            split: {label: per.get((split, label), 0) for label in ("0", "1")}
            for split in LABELLED_SPLITS
        }

    flagged = [f for f in faces if f.flagged]
    noise = verdict.inverse_noise
    return {
        "faces": len(faces),
        "flagged": len(flagged),
        # kept with their given labels, in the review queue beside the flagged ones
        "undecided": sum(1 for f in faces if not f.flagged and review_reason(f) is not None),
        "flagged_share": len(flagged) / len(faces),
        "counts": counts(faces),
        "flagged_counts": counts(flagged),
        # P(true label differs | given label), from cleanlab's confident joint
        "estimated_noise_rate": {str(c): float(1.0 - noise[c][c]) for c in (0, 1)},
        "confident_joint": np.asarray(verdict.confident_joint).astype(int).tolist(),
        "folds": sidecars,
        "filter_by": context["filter_by"],
        "apply": context["apply"],
        "settings": {**context["settings"], "hparams": context["hparams"]},
        "shards": context["shards"],
        "images_missing": missing,
    }


def review_queue(faces: list[AuditedFace]) -> list[ReviewItem]:
    """The faces a person should look at, in the order to look at them: the worst-fitting
    label first (cleanlab's label quality, the ranking whose top holds the most wrong labels),
    flagged or undecided, each with its reason and the fold models' lean as the suggestion."""
    queue = []
    for face in faces:  # worst label first
        reason = review_reason(face)
        if reason is not None:
            lean = int(predicted(np.asarray(face.p_glasses)))
            queue.append(ReviewItem(face.id, face.uri, face.p_glasses, lean, face.given_label,
                                    face.split, face.label_quality, reason))  # fmt: skip
    return queue


def write(output: str, faces: list[AuditedFace], summary: dict[str, Any], apply: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ISSUE_COLUMNS)
    for f in faces:
        writer.writerow([f.id, f.uri, f.split, f.given_label, f"{f.p_glasses:.6f}",
                         f"{f.label_quality:.6f}", int(f.flagged), f.suggested_label])  # fmt: skip
    storage.write_text(storage.join(output, LABEL_ISSUES), buf.getvalue())

    flagged = [f for f in faces if f.flagged]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("id", "label"))
    for f in sorted(flagged, key=lambda f: f.id):
        writer.writerow([f.id, DROP if apply == "drop" else f.suggested_label])
    storage.write_text(storage.join(output, CORRECTIONS), buf.getvalue())

    items = review_queue(faces)
    storage.write_text(
        storage.join(output, LABEL_STUDIO_TASKS),
        json.dumps([label_studio_task(i, MODEL_VERSION) for i in items], indent=1) + "\n",
    )
    storage.write_text(storage.join(output, LABEL_STUDIO_CONFIG), LABEL_CONFIG)
    storage.write_text(storage.join(output, AUDIT_REPORT), json.dumps(summary, indent=1) + "\n")
    storage.write_text(storage.join(output, AUDIT_PAGE), review.render(items, summary))
    log.info(
        "audit: %d of %d labelled faces flagged (%.1f %%), %d undecided (kept, to review); "
        "estimated noise: %.1f %% of 'no glasses' labels, %.1f %% of 'glasses' labels; "
        "review page %s",
        len(flagged), len(faces), 100 * summary["flagged_share"], summary["undecided"],
        100 * summary["estimated_noise_rate"]["0"], 100 * summary["estimated_noise_rate"]["1"],
        storage.join(output, AUDIT_PAGE),
    )  # fmt: skip
