"""What KFP's run page shows of a step's results: metrics, charts, HTML and Markdown.

Shared by the components that finish the same way (evaluate, with or without an audit). The
artifacts are KFP's output objects, used only through their ``path`` and ``log_*`` methods, so
this package never imports kfp.
"""

from __future__ import annotations

from typing import Any

from glasses import artifacts, storage
from glasses.evaluate import Evaluation, evaluate
from glasses.metrics import thin_roc
from glasses.report import summary_markdown

HEADLINE = ("accuracy", "accuracy_unflagged", "loss", "roc_auc", "precision", "recall", "f1",
            "ece", "uncertain_fraction")  # fmt: skip


def show_evaluation(
    result: Evaluation,
    evaluation_dir: str,
    metrics: Any,
    classification: Any,
    report: Any,
    summary: Any,
) -> None:
    """Headline metrics, the confusion matrix and ROC curve, the report page and a summary."""
    m = result.metrics
    for key in HEADLINE:
        if m.get(key) is not None:
            metrics.log_metric(key, round(float(m[key]), 6))
    classification.log_confusion_matrix(
        m["confusion_matrix"]["labels"], m["confusion_matrix"]["matrix"]
    )
    roc = thin_roc(m["roc_curve"])
    classification.log_roc_curve(roc["fpr"], roc["tpr"], roc["thresholds"])
    storage.copy(storage.join(evaluation_dir, artifacts.EVALUATION_PAGE), report.path)
    storage.write_text(summary.path, summary_markdown(m))


def evaluate_and_show(
    shards: str,
    model: str,
    evaluation: Any,
    metrics: Any,
    classification: Any,
    report: Any,
    summary: Any,
    *,
    model_registry: str,
    min_accuracy: float,
    max_regression: float,
    uncertain_low: float,
    uncertain_high: float,
    audit: str | None = None,
) -> bool:
    """What both evaluate components do (KFP's local runner cannot leave an input artifact
    unconnected, so the audited one is a component of its own): evaluate, show, bless."""
    result = evaluate(
        shards, model, evaluation.path, uncertain_low=uncertain_low,
        uncertain_high=uncertain_high, min_accuracy=min_accuracy,
        baseline=model_registry or None, max_regression=max_regression, audit=audit,
    )  # fmt: skip
    show_evaluation(result, evaluation.path, metrics, classification, report, summary)
    return bool(result.blessed)
