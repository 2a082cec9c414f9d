"""The paper's tables from the runs' ``result.json`` files: a row per configuration (and
protocol) with the paper's figure beside the mean, spread and range over seeds."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from glasses import storage
from glasses.artifacts import (
    EXPERIMENT_RESULT,
    EXPERIMENTS_PAGE,
    PAPER_TABLES_JSON,
    PAPER_TABLES_MD,
    SHARD_METADATA,
)
from glasses.experiments import studies
from glasses.experiments.layout import shards_at
from glasses.experiments.studies import LABELS, METRICS

BYTES_PER_MB = 1e6
PAPER_SHARD_FACES = 450  # the paper's TFRecord sizes are for one file of 450 faces


def read_results(output: str) -> list[dict[str, Any]]:
    """Every finished run under ``output``/runs, in a stable order."""
    try:
        files = storage.list_files(storage.join(output, "runs"))
    except FileNotFoundError:
        return []
    found = [
        json.loads(storage.read_text(f.uri))
        for f in files
        if f.uri.endswith("/" + EXPERIMENT_RESULT)
    ]
    return sorted(found, key=lambda r: (r["protocol"], r["configuration"], r["seed"]))


def tfrecord_mb(output: str, resolution: int) -> float | None:
    """The shards' size at ``resolution`` as MB per 450 faces, or None when not there."""
    shards = shards_at(output, resolution)
    try:
        metadata = json.loads(storage.read_text(storage.join(shards, SHARD_METADATA)))
        files = storage.list_files(shards)
    except FileNotFoundError:
        return None
    size = sum(f.size for f in files if ".tfrecord" in storage.basename(f.uri))
    records = sum(int(s["records"]) for s in metadata["splits"].values())
    return size / max(records, 1) * PAPER_SHARD_FACES / BYTES_PER_MB


def spread(values: Sequence[float]) -> dict[str, float | int]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def build_tables(output: str, results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The tables as data: per study, a row per configuration and protocol that has runs."""
    sizes = {c.resolution: tfrecord_mb(output, c.resolution) for c in studies.CONFIGURATIONS}
    tables = []
    for study in studies.STUDY_NAMES:
        rows = []
        for c in studies.CONFIGURATIONS:
            if c.study != study:
                continue
            for protocol in studies.PROTOCOLS.values:
                runs = [r for r in results if r["configuration"] == c.key
                        and r["protocol"] == protocol]  # fmt: skip
                if not runs:
                    continue
                measured: dict[str, Any] = {}
                for metric in (*METRICS[study], "seconds", "test_accuracy_vs_truth"):
                    if metric == "tfrecord_mb":
                        size = sizes[c.resolution]
                        if size is not None:
                            measured[metric] = spread([size])
                        continue
                    values = [float(r[metric]) for r in runs if r.get(metric) is not None]
                    if values:
                        measured[metric] = spread(values)
                rows.append({
                    "configuration": c.key, "name": c.name, "protocol": protocol,
                    "resolution": c.resolution, "batch_size": c.batch_size,
                    "search_space": c.search_space, "paper": dict(c.paper),
                    "seeds": [r["seed"] for r in runs], "measured": measured,
                    "settings": runs[0].get("settings", {}),
                    # each cell as the Markdown and the page both show it
                    "shown": {m: _cell(measured, m) for m in measured},
                    "paper_shown": {m: f"{v:g}" for m, v in c.paper.items()},
                })  # fmt: skip
        if rows:
            metrics = list(METRICS[study])
            # what the paper does not give, where some run has it
            extra = [m for m in ("seconds", "test_accuracy_vs_truth") if m not in metrics
                     and any(m in r["measured"] for r in rows)]  # fmt: skip
            table = {"study": study, "metrics": metrics, "extra": extra, "rows": rows}
            tables.append({**table, "trained": settings_line(table)})
    return {"tables": tables, "labels": dict(LABELS)}


def _cell(measured: Mapping[str, Any], metric: str) -> str:
    if metric not in measured:
        return "n/a"
    m = measured[metric]
    digits = 1 if metric in ("seconds", "tfrecord_mb") else 3
    if m["n"] == 1:
        return f"{m['mean']:.{digits}f}"
    return (f"{m['mean']:.{digits}f} ± {m['std']:.{digits}f} "
            f"({m['min']:.{digits}f} to {m['max']:.{digits}f})")  # fmt: skip


def markdown(tables: Mapping[str, Any]) -> str:
    """The tables as Markdown: for each metric the paper's figure, then the measured mean ±
    standard deviation (range) over seeds."""
    out = ["# The paper's tables, reproduced", "",
           "Each measured cell: mean ± standard deviation (lowest to highest) over the seeds; "
           "the paper's figure is one run. Accuracies are on the given labels, as the paper "
           "measured them; \"vs truth\" is against the true labels, where the data has them.",
           ""]  # fmt: skip
    for table in tables["tables"]:
        metrics, extra = table["metrics"], table["extra"]
        head = ["configuration", "protocol", "seeds"]
        for metric in metrics:
            head += [f"paper: {LABELS[metric]}", f"measured: {LABELS[metric]}"]
        head += [f"measured: {LABELS[m]}" for m in extra]
        out += [f"## {table['study'].capitalize()}", "", "| " + " | ".join(head) + " |",
                "|" + " --- |" * len(head)]  # fmt: skip
        for row in table["rows"]:
            cells = [row["name"], row["protocol"], str(len(row["seeds"]))]
            for metric in metrics:
                cells += [row["paper_shown"].get(metric, ""), row["shown"].get(metric, "n/a")]
            cells += [row["shown"].get(m, "n/a") for m in extra]
            out.append("| " + " | ".join(cells) + " |")
        out += ["", table["trained"], ""]
    return "\n".join(out)


def settings_line(table: Mapping[str, Any]) -> str:
    """How the table's runs were trained, in a sentence: epochs, and the searches' size."""
    epochs = sorted({r["settings"].get("epochs") for r in table["rows"]} - {None})
    said = f"Trained for at most {' or '.join(map(str, epochs))} epochs" if epochs else ""
    searches = sorted({(r["settings"]["max_trials"], r["settings"]["tune_epochs"])
                       for r in table["rows"] if "max_trials" in r["settings"]})  # fmt: skip
    if searches:
        said += "; tuned by " + " or ".join(f"{t} trials of {e} epochs" for t, e in searches)
    return said + "." if said else ""


def write_report(output: str) -> tuple[str, str]:
    """paper_tables.md and .json and experiments.html from what has finished so far."""
    from glasses.pages import experiments as page

    results = read_results(output)
    tables = build_tables(output, results)
    storage.write_text(storage.join(output, PAPER_TABLES_JSON), json.dumps(tables, indent=1) + "\n")
    md = storage.join(output, PAPER_TABLES_MD)
    storage.write_text(md, markdown(tables))
    html = storage.join(output, EXPERIMENTS_PAGE)
    storage.write_text(html, page.render(tables, results))
    return md, html
