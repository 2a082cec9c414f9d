"""evaluate's report page, and the few lines KFP's run page shows of it."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from glasses.pages.html import figure_section, fmt, head

CURVES_TRIMMED = (
    " After the warm-up each batch's largest losses are left out (the share of training labels"
    " the model contradicts, a guess at the wrong ones: see Training), in training and in"
    " validation alike, so these losses sit far below the summary's loss, which is plain"
    " cross-entropy over every test face."
)
SECTIONS = (
    ("training_curves", "Training curves", "Accuracy and loss per epoch, training vs validation."),
    ("confusion_matrix", "Confusion matrix", "Rows: true label. Columns: prediction at p >= 0.5."),
    ("roc_curve", "ROC curve", "Every threshold's true- against false-positive rate."),
    ("reliability", "Reliability diagram", "Does p = 0.8 mean glasses 8 times in 10?"),
    (
        "face_grid",
        "Test faces",
        "Misclassified faces first (red frame), then uncertain ones (orange), then a sample "
        "of the rest (green). Above each face: the model's probability of glasses; below: "
        "the face's label in the test set.",
    ),
    (
        "feature_maps",
        "Feature maps",
        "The first channels of each convolution block for one face with glasses.",
    ),
)


def _training_table(facts: Mapping[str, Any]) -> str:
    rows: list[tuple[str, Any]] = []
    if "split_sizes" in facts:
        sizes = facts["split_sizes"]
        rows.append(("Faces per split", " / ".join(f"{k} {v}" for k, v in sizes.items())))
    if "epochs_run" in facts:
        kept = facts.get("epoch_kept")
        rows.append(("Epochs run; epoch kept", f"{facts['epochs_run']}; {kept}"))
    if "monitor" in facts:
        rows.append(("Early stopping watched", facts["monitor"]))
    if "labels_left_out" in facts:
        rows.append(("Share of each training batch left out (likely wrong labels), last epoch",
                     f"{facts['labels_left_out']:.1%}"))  # fmt: skip
    for key, value in facts.get("hyperparameters", {}).items():
        rows.append((f"hparams: {key}", value))
    if not rows:
        return ""
    body = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{fmt(v)}</td></tr>" for k, v in rows)
    return f'<section id="training"><h2>Training</h2><table>\n{body}\n</table></section>'


def render(
    metrics: Mapping[str, Any],
    figures: Mapping[str, bytes],
    training: Mapping[str, Any] | None = None,
) -> str:
    """The page: verdict, summary table, training facts, then one section per figure."""
    training = training or {}
    low, high = metrics["uncertain_band"]
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]["matrix"]
    rows = [
        ("Test faces", metrics["examples"]),
        ("Accuracy", metrics["accuracy"]),
        ("Loss (plain binary cross-entropy over every test face)", metrics["loss"]),
        ("ROC AUC", metrics["roc_auc"]),
        ("Precision (glasses)", metrics["precision"]),
        ("Recall (glasses)", metrics["recall"]),
        ("F1", metrics["f1"]),
        (f"Uncertain share (p in [{low}, {high}])", metrics["uncertain_fraction"]),
        ("Accuracy on confident faces", metrics["confident_accuracy"]),
        ("Expected calibration error", metrics["ece"]),
        ("TN / FP / FN / TP", f"{tn} / {fp} / {fn} / {tp}"),
    ]
    if "accuracy_unflagged" in metrics:
        rows.insert(2, (
            f"Accuracy on the {metrics['unflagged_faces']} test faces whose labels the audit did "
            f"not flag ({metrics['flagged_faces']} flagged)",
            metrics["accuracy_unflagged"],
        ))  # fmt: skip
    table = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{fmt(v)}</td></tr>" for k, v in rows)
    blessed = bool(metrics.get("blessed"))
    reason = metrics.get("blessing", {}).get("reason", "")
    sections = []
    for key, title, caption in SECTIONS:
        if key not in figures:
            continue
        if key == "training_curves" and training.get("trimmed_epochs"):
            caption += CURVES_TRIMMED
        sections.append(figure_section(key, title, caption, figures[key]))
    verdict = "BLESSED" if blessed else "NOT BLESSED"
    return f"""{head("glasses: evaluation")}
<h1>Does this face wear glasses? Evaluation</h1>
<p>Model <code>{html.escape(str(metrics.get("model", "")))}</code> on the
{html.escape(str(metrics.get("split", "test")))} split of
<code>{html.escape(str(metrics.get("data", "")))}</code>.</p>
<p class="verdict {"yes" if blessed else "no"}" id="verdict">{verdict}</p>
<p>{html.escape(reason)}</p>
<section id="summary"><h2>Summary</h2><table>
{table}
</table></section>
{_training_table(training)}
{chr(10).join(sections)}
</body></html>
"""


def summary_markdown(metrics: Mapping[str, Any]) -> str:
    """A few lines for KFP's run page: verdict and headline numbers."""
    low, high = metrics["uncertain_band"]
    verdict = "**Blessed**" if metrics.get("blessed") else "**Not blessed**"
    reason = metrics.get("blessing", {}).get("reason", "")
    return (
        f"## glasses: evaluation\n\n{verdict}: {reason}\n\n"
        "| metric | value |\n| --- | --- |\n"
        f"| test faces | {metrics['examples']} |\n"
        f"| accuracy | {fmt(metrics['accuracy'])} |\n"
        + (
            f"| accuracy on faces the audit did not flag | {fmt(metrics['accuracy_unflagged'])} |\n"
            if "accuracy_unflagged" in metrics
            else ""
        )
        + f"| ROC AUC | {fmt(metrics['roc_auc'])} |\n"
        f"| F1 | {fmt(metrics['f1'])} |\n"
        f"| uncertain (p in [{low}, {high}]) | {fmt(metrics['uncertain_fraction'])} |\n"
        f"| accuracy on confident faces | {fmt(metrics['confident_accuracy'])} |\n"
        f"| expected calibration error | {fmt(metrics['ece'])} |\n"
    )
