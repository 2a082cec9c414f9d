"""evaluate's report page: one self-contained HTML file (pictures inlined as data URIs), so it
opens the same from a laptop folder, a GCS console download, or KFP's HTML artifact viewer."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

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


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1100px;
       color: #222; }
table { border-collapse: collapse; }
th, td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
th { font-weight: normal; color: #555; } img { max-width: 100%; }
tr.bad td, tr.bad th { color: #c62828; font-weight: bold; }
.verdict { padding: .6em 1em; border-radius: 6px; color: white; display: inline-block; }
.yes { background: #2e7d32; } .no { background: #c62828; }
"""


def _head(title: str) -> str:
    """The start of every page this package writes: one look, no external resources."""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
        f"<style>{_STYLE}</style></head><body>"
    )


def _figure_section(key: str, title: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<section id="{key}"><h2>{title}</h2><p>{html.escape(caption)}</p>'
        f'<img alt="{title}" src="data:image/png;base64,{data}"></section>'
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


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
        rows.append(("Share of each training batch left out (likely wrong labels)",
                     f"{facts['labels_left_out']:.1%}"))  # fmt: skip
    for key, value in facts.get("hyperparameters", {}).items():
        rows.append((f"hparams: {key}", value))
    if not rows:
        return ""
    body = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
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
    table = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    blessed = bool(metrics.get("blessed"))
    reason = metrics.get("blessing", {}).get("reason", "")
    sections = []
    for key, title, caption in SECTIONS:
        if key not in figures:
            continue
        if key == "training_curves" and training.get("labels_left_out"):
            caption += CURVES_TRIMMED
        sections.append(_figure_section(key, title, caption, figures[key]))
    verdict = "BLESSED" if blessed else "NOT BLESSED"
    return f"""{_head("glasses: evaluation")}
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
        f"| accuracy | {_fmt(metrics['accuracy'])} |\n"
        + (
            "| accuracy on faces the audit did not flag | "
            f"{_fmt(metrics['accuracy_unflagged'])} |\n"
            if "accuracy_unflagged" in metrics
            else ""
        )
        + f"| ROC AUC | {_fmt(metrics['roc_auc'])} |\n"
        f"| F1 | {_fmt(metrics['f1'])} |\n"
        f"| uncertain (p in [{low}, {high}]) | {_fmt(metrics['uncertain_fraction'])} |\n"
        f"| accuracy on confident faces | {_fmt(metrics['confident_accuracy'])} |\n"
        f"| expected calibration error | {_fmt(metrics['ece'])} |\n"
    )


def render_batch(verdict: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """score's batch health page: verdict and reasons first, then the class mix against the
    reference, the probability histogram, each drift test, and the faces."""
    healthy = bool(verdict["healthy"])
    reference = verdict.get("reference") or {}
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in verdict["reasons"])

    def share(value: Any) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    mix = [
        ("Faces scored", verdict["count"], reference.get("count", "n/a")),
        ("With glasses", share(verdict["glasses_share"]), share(reference.get("glasses_share"))),
        ("Uncertain (discarded)", share(verdict["uncertain_share"]),
         share(reference.get("uncertain_share"))),
    ]  # fmt: skip
    for name, value in verdict["means"].items():
        mix.append(
            (f"Mean {name.replace('_', ' ')}", value, (reference.get("means") or {}).get(name))
        )
    mix_rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(a)}</td><td>{_fmt(b)}</td></tr>" for k, a, b in mix
    )
    test_rows = (
        "\n".join(
            f'<tr class="{"bad" if t["drifted"] else ""}"><th>{html.escape(t["statistic"])}</th>'
            f"<td>{html.escape(t['test'])}</td><td>{t['distance']:.3f} (max {t['max_drift']})</td>"
            f"<td>{t['p_value']:.2g} (max {t['max_p_value']})</td>"
            f"<td>{'DRIFTED' if t['drifted'] else 'ok'}</td></tr>"
            for t in verdict["tests"]
        )
        or '<tr><td colspan="5">No reference profile with this model: no drift tests.</td></tr>'
    )
    sources = ", ".join(f"{html.escape(k)}: {v}" for k, v in verdict["sources"].items()) or "n/a"
    pictures = []
    captions = {
        "histogram": ("Probability of glasses", "Share of faces per bin, this batch (bars) "
                      "against the model's validation faces (line)."),
        "faces": ("Faces", "The most uncertain faces first (orange frame: in the uncertain band, "
                  "discarded), then a sample of each predicted class. Above each face: the "
                  "probability of glasses; below: the predicted class."),
    }  # fmt: skip
    for key, (title, caption) in captions.items():
        if key in figures:
            pictures.append(_figure_section(key, title, caption, figures[key]))
    verdict_text = "HEALTHY" if healthy else "UNHEALTHY"
    return f"""{_head("glasses: batch health")}
<h1>Batch health: can these faces' predictions be trusted?</h1>
<p class="verdict {"yes" if healthy else "no"}" id="verdict">{verdict_text}</p>
<ul id="reasons">{reasons}</ul>
<p>Faces from <code>{html.escape(str(verdict.get("source", "")))}</code>, scored by
<code>{html.escape(str(verdict.get("model", "")))}</code>. File sizes and modes: {sources}.</p>
<section id="class_mix"><h2>This batch against the reference</h2><table>
<tr><th></th><th>this batch</th><th>reference (validation faces)</th></tr>
{mix_rows}
</table></section>
<section id="drift"><h2>Drift tests</h2><table>
<tr><th>statistic</th><th>test</th><th>distance</th><th>p-value</th><th>verdict</th></tr>
{test_rows}
</table></section>
{chr(10).join(pictures)}
</body></html>
"""
