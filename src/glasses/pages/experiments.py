"""The paper's experiments as one page: each table as a chart and a table, the paper's figure
beside the measured spread, and the accuracy curves of its Figures 10 and 11."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from glasses.pages import plots
from glasses.pages.html import figure_section, head

CAPTIONS = {
    "resolution": "The untuned model at 32, 64 and 128 px: validation accuracy of the model "
    "kept, and the shards' size per 450 faces (the paper's 20 epochs, one run each).",
    "batch": "The untuned model at 64 px (the paper's best resolution) with batches of 32, 64 "
    "and 128: training time on this machine and validation accuracy.",
    "models": "The untuned model and the two tuned by random search (the network, Adam's "
    "schedule) at 32 px: test accuracy and loss.",
}


def _table(table: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The paper's figure beside each of its metrics; then what the paper does not give. The
    cells come as the tables show them (glasses.experiments.tables)."""
    metrics, extra = table["metrics"], table["extra"]
    cells = "".join(f"<th>{html.escape(labels[m])}: paper</th><th>measured</th>" for m in metrics)
    cells += "".join(f"<th>{html.escape(labels[m])}</th>" for m in extra)
    rows = []
    for row in table["rows"]:
        shown, paper = row["shown"], row["paper_shown"]
        values = "".join(
            f"<td>{paper.get(m, 'n/a')}</td><td>{shown.get(m, 'n/a')}</td>" for m in metrics
        )
        values += "".join(f"<td>{shown.get(m, 'n/a')}</td>" for m in extra)
        rows.append(f"<tr><th>{html.escape(row['name'])}</th><td>{row['protocol']}</td>"
                    f"<td>{len(row['seeds'])}</td>{values}</tr>")  # fmt: skip
    return (f"<table><tr><th>configuration</th><th>protocol</th><th>seeds</th>{cells}</tr>"
            + "\n".join(rows) + "</table>")  # fmt: skip


def _curves(
    results: Sequence[Mapping[str, Any]], names: Sequence[str], metric: str
) -> dict[str, list[list[float]]]:
    curves: dict[str, list[list[float]]] = {}
    for r in results:
        if r["study"] == "models" and r["name"] in names and metric in r["history"]:
            curves.setdefault(f"{r['name']}, {r['protocol']}", []).append(r["history"][metric])
    return curves


def render(tables: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str:
    """The page for ``tables`` (glasses.experiments.tables.build_tables) and the runs."""
    sections = []
    labels = tables["labels"]
    for table in tables["tables"]:
        study = table["study"]
        charts = []
        for metric in table["metrics"]:
            names = [f"{r['name']}\n{r['protocol']}" for r in table["rows"]]
            png = plots.study_chart(
                names, [r["measured"].get(metric) for r in table["rows"]],
                [r["paper"].get(metric) for r in table["rows"]], labels[metric],
            )  # fmt: skip
            title = labels[metric][0].upper() + labels[metric][1:]
            charts.append(figure_section(f"{study}-{metric}", title, "", png))
        sections.append(
            f'<section id="{study}"><h2>{study.capitalize()}</h2>'
            f"<p>{html.escape(CAPTIONS[study])} {html.escape(table['trained'])}</p>"
            f"{_table(table, labels)}"
            f'<div class="charts">{"".join(charts)}</div></section>'
        )
    untuned = {**_curves(results, ["untuned"], "accuracy")}
    training = {f"training, {k}": v for k, v in untuned.items()}
    validation = {f"validation, {k}": v for k, v in _curves(results, ["untuned"],
                                                             "val_accuracy").items()}  # fmt: skip
    if training or validation:
        png = plots.accuracy_curves({**training, **validation}, "The untuned model")
        sections.append(figure_section(
            "figure-10", "Accuracy per epoch, the untuned model (the paper's Figure 10)",
            "Training against validation accuracy: where they part, the model memorises.", png,
        ))  # fmt: skip
    models = _curves(results, ["untuned", "tuned architecture", "tuned learning rate"],
                     "val_accuracy")  # fmt: skip
    if models:
        png = plots.accuracy_curves(models, "Validation accuracy of the three models")
        sections.append(figure_section(
            "figure-11", "The three models per epoch (the paper's Figure 11)",
            "Validation accuracy per epoch: the mean over seeds, the band their range.", png,
        ))  # fmt: skip
    if not sections:
        sections.append("<p>No configuration has finished yet.</p>")
    style = "<style>.charts { display: flex; flex-wrap: wrap; gap: 1em; }</style>"
    return f"""{head("glasses: the paper's experiments")}{style}
<h1>The paper's experiments, reproduced</h1>
<p>Each configuration over several seeds; the paper's figures are one run each. Accuracies are
on the given labels, as the paper measured them.</p>
{"".join(sections)}
</body></html>
"""
