"""What KFP's run page shows of each step's results: metrics, charts, HTML, Markdown and
artifact metadata, and errors in the pipeline's own words.

The KFP components (components/steps.py) call these from inside the step's container, where
this package is installed and the components' module is not, so this module lives here. The
artifacts are KFP's output objects, used only through their ``path``, ``metadata`` and
``log_*`` methods: this package never imports kfp.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from glasses import artifacts, storage
from glasses.data.shard_format import ShardMetadata
from glasses.errors import InputError, SettingError
from glasses.evaluation.evaluate import Evaluation
from glasses.evaluation.metrics import thin_roc
from glasses.pages.evaluation import summary_markdown
from glasses.scoring import review as scoring_review

HEADLINE = ("accuracy", "accuracy_unflagged", "loss", "roc_auc", "precision", "recall", "f1",
            "ece", "uncertain_fraction")  # fmt: skip


@contextlib.contextmanager
def pipeline_words(names: Mapping[str, str]) -> Iterator[None]:
    """A step's setting errors in the pipeline's parameter names (``folds`` is the run
    form's ``audit_folds``); a setting not in ``names`` has the same name in both."""
    try:
        yield
    except SettingError as err:
        raise InputError(err.say(lambda setting: names.get(setting, setting))) from err


def show_shards(metadata: ShardMetadata, shards: Any) -> None:
    shards.metadata.update({"resolution": metadata["resolution"], "records": metadata["records"]})


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


def show_scores(
    verdict: dict[str, Any],
    predictions: Any,
    batch_health: Any,
    batch_report: Any,
    review: Any,
    review_tasks: Any,
    summary: Any,
) -> None:
    """The score report's counts on the predictions, the batch health verdict as Metrics, its
    page as HTML, the uncertain faces as a review page (HTML) and Label Studio tasks (a
    Dataset to import), and the run in a few lines of Markdown."""
    report = json.loads(storage.read_text(storage.join(predictions.path, artifacts.SCORE_REPORT)))
    predictions.metadata.update(report["counts"] | {"model_version": report["model_version"]})
    batch_health.log_metric("healthy", float(bool(verdict["healthy"])))
    for key in ("glasses_share", "uncertain_share"):
        if verdict[key] is not None:
            batch_health.log_metric(key, round(float(verdict[key]), 6))
    for test in verdict["tests"]:
        batch_health.log_metric(f"drift_{test['statistic']}", round(float(test["distance"]), 6))
    batch_health.metadata["reasons"] = "; ".join(verdict["reasons"]) or "none"
    storage.copy(storage.join(predictions.path, artifacts.BATCH_PAGE), batch_report.path)
    folder = scoring_review.folder(predictions.path, report)
    storage.copy(storage.join(folder, artifacts.REVIEW_PAGE), review.path)
    storage.copy(storage.join(folder, artifacts.LABEL_STUDIO_TASKS), review_tasks.path)
    storage.write_text(summary.path, score_summary(report, verdict))


def score_summary(report: Mapping[str, Any], verdict: Mapping[str, Any]) -> str:
    """A scoring run in a few lines: what came in, what became of it, with which model."""
    c = report["counts"]
    health = "healthy" if verdict["healthy"] else "UNHEALTHY: " + "; ".join(verdict["reasons"])
    skipped = f" ({c['skipped']} more already scored by this model)" if c["skipped"] else ""
    return (
        f"### Scored batch: {health}\n\n"
        f"| faces | scored | accepted | uncertain | rejected |\n"
        f"| --- | --- | --- | --- | --- |\n"
        f"| {c['inputs']}{skipped} | {c['scored']} | {c['accepted']} | {c['uncertain']} | "
        f"{c['rejected']} |\n\n"
        f"Model version `{report['model_version']}`; {report['review']['tasks']} faces to review "
        f"(`{artifacts.LABEL_STUDIO_TASKS}`); source `{report['source']}`.\n"
    )


def show_audit(
    report: dict[str, Any], audit: Any, review: Any, review_tasks: Any, audit_metrics: Any
) -> None:
    """The flagged counts and noise estimates as Metrics, the review page as HTML, the Label
    Studio tasks as a Dataset to import."""
    audit.metadata.update(
        {"faces": report["faces"], "flagged": report["flagged"], "undecided": report["undecided"]}
    )
    audit_metrics.log_metric("flagged", float(report["flagged"]))
    audit_metrics.log_metric("undecided", float(report["undecided"]))
    audit_metrics.log_metric("flagged_share", round(float(report["flagged_share"]), 6))
    for label, rate in report["estimated_noise_rate"].items():
        audit_metrics.log_metric(f"estimated_noise_rate_{label}", round(float(rate), 6))
    storage.copy(storage.join(audit.path, artifacts.AUDIT_PAGE), review.path)
    storage.copy(storage.join(audit.path, artifacts.LABEL_STUDIO_TASKS), review_tasks.path)


def show_experiments(output: str, page: Any, tables: Any, results: Any) -> None:
    """The experiments' page as HTML, their tables as Markdown, and each configuration's mean
    headline figure as Metrics."""
    from glasses.experiments.tables import write_report

    md, html_page = write_report(output)
    storage.copy(html_page, page.path)
    storage.copy(md, tables.path)
    found = json.loads(storage.read_text(storage.join(output, artifacts.PAPER_TABLES_JSON)))
    for table in found["tables"]:
        for row in table["rows"]:
            for metric, m in row["measured"].items():
                results.log_metric(f"{row['configuration']}-{row['protocol']}-{metric}",
                                   round(float(m["mean"]), 6))  # fmt: skip
