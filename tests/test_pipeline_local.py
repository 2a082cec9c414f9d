"""The whole DAG under KFP's own local runner on a tiny synthetic set: once from a local
folder, then again from gs:// (the emulator) against the first run's model registry."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from components.runners import LocalRun, run_local
from glasses import storage, synth

TINY = {
    "resolution": 64,
    "tuner": "random",
    "max_trials": 1,
    "tune_epochs": 1,
    "epochs": 2,
    "min_accuracy": 0.0,
    "max_regression": 1.0,
}


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 faces at 64 px, the last 8 unlabelled."""
    out = tmp_path_factory.mktemp("tiny") / "raw"
    synth.synth(str(out), count=80, size=64, seed=11, workers=1)
    return out


@pytest.fixture(scope="module")
def first_run(tiny_source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalRun, Path]:
    root = tmp_path_factory.mktemp("kfp")
    registry = root / "registry"
    arguments = {**TINY, "source": str(tiny_source), "model_registry": str(registry)}
    return run_local(arguments, str(root / "runs")), registry


def metrics_of(run: LocalRun) -> dict[str, Any]:
    metrics: dict[str, Any] = json.loads(run.metrics.read_text())
    return metrics


@pytest.mark.slow
def test_first_run_trains_evaluates_publishes_and_scores(
    first_run: tuple[LocalRun, Path],
) -> None:
    run, registry = first_run
    metrics = metrics_of(run)
    # the numbers are the test split's: recomputed from the per-face predictions evaluate wrote
    with open(run.metrics.parent / "test_predictions.csv") as f:
        faces = list(csv.DictReader(f))
    right = sum(int(r["predicted"]) == int(r["label"]) for r in faces)
    assert metrics["examples"] == len(faces) > 0
    assert metrics["accuracy"] == pytest.approx(right / len(faces))
    # the pipeline's own parameters reached the gate (TINY lets any model through: 2 epochs on
    # 72 faces prove the plumbing, not the model; the gate itself is tested in test_evaluate)
    blessing = metrics["blessing"]
    assert (blessing["min_accuracy"], blessing["max_regression"]) == (0.0, 1.0)
    assert metrics["blessed"] and blessing["baseline"] is None  # first run: no registry yet
    assert (run.model / "model.keras").is_file()
    page = run.report.read_text()
    assert page.startswith("<!doctype html>") and 'id="feature_maps"' in page
    assert run.predictions is not None
    with open(run.predictions) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8  # every unlabelled face (test.csv) scored once
    assert len({r["id"] for r in rows}) == 8
    latest = json.loads((registry / "latest.json").read_text())
    assert (Path(latest["model"]) / "model.keras").is_file()
    summary = (run.run_dir / "evaluate" / "summary").read_text()
    assert "Blessed" in summary
    health = json.loads((run.predictions.parent / "batch_report.json").read_text())
    assert health["count"] == 8 and health["reference"] is not None  # the model's reference


@pytest.mark.slow
def test_second_run_from_gcs_uses_the_registry_as_baseline(
    first_run: tuple[LocalRun, Path], tiny_source: Path, gcs_root: str, tmp_path: Path
) -> None:
    first, registry = first_run
    source = storage.join(gcs_root, "raw")
    storage.copy_tree(str(tiny_source), source)
    published = json.loads((registry / "latest.json").read_text())
    arguments = {**TINY, "source": source, "model_registry": str(registry)}
    second = run_local(arguments, str(tmp_path / "runs"))
    metrics = metrics_of(second)
    baseline = metrics["blessing"]["baseline"]
    assert baseline["source"] == f"model {published['model']}"
    # same faces, same split: the baseline scored on them as the first run's model did
    assert baseline["accuracy"] == pytest.approx(metrics_of(first)["accuracy"], abs=1e-9)
    assert metrics["blessed"]  # max_regression 1.0
    # the manifest points at the gs:// images, and scoring found all of them
    manifest = (second.run_dir / "ingest" / "manifest" / "manifest.csv").read_text()
    assert source in manifest
    assert second.predictions is not None
    assert len(second.predictions.read_text().splitlines()) == 1 + 8
    assert json.loads((registry / "latest.json").read_text())["version"] != published["version"]


@pytest.fixture(scope="module")
def audit_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocalRun]:
    """The DAG with audit=report and audit=drop on 96 faces, 20 % of the labels flipped."""
    root = tmp_path_factory.mktemp("kfp-audit")
    source = root / "raw"
    synth.synth(str(source), count=96, size=64, label_noise=0.2, seed=4, workers=1)
    tiny = {**TINY, "tuner": "none", "resolution": 32, "audit_folds": 2, "num_audit_workers": 2,
            "num_shard_workers": 1, "num_score_workers": 1, "source": str(source)}  # fmt: skip
    return {
        mode: run_local({**tiny, "audit": mode}, str(root / mode)) for mode in ("report", "drop")
    }


def flagged_ids(audit: Path) -> set[str]:
    with open(audit / "label_issues.csv") as f:
        return {r["id"] for r in csv.DictReader(f) if r["flagged"] == "1"}


@pytest.mark.slow
def test_audit_report_mode_publishes_the_review_and_reports_unflagged_accuracy(
    audit_runs: dict[str, LocalRun],
) -> None:
    run = audit_runs["report"]
    assert run.audit is not None
    assert (run.audit.parent / "review").read_text().startswith("<!doctype html>")
    tasks = json.loads((run.audit.parent / "review_tasks").read_text())
    report = json.loads((run.audit / "audit_report.json").read_text())
    # the review queue: every flagged face and every one the audit could not decide
    assert len(tasks) == len(flagged_ids(run.audit)) + report["undecided"]
    assert flagged_ids(run.audit) <= {str(t["data"]["face_id"]) for t in tasks}
    # both rounds' folds ran, each round fanned out over the two workers
    assert [(f["round"], f["fold"]) for f in report["folds"]] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert len(list(run.run_dir.glob("for-loop-*/audit-*"))) == 4  # 2 rounds x 2 workers
    assert len(list(run.run_dir.glob("gather-audit-round*"))) == 1  # round 1 for round 2
    # the model trained on every given label: the original shards, no second ingest
    assert not list(run.run_dir.glob("ingest-*"))
    metrics = metrics_of(run)
    with open(run.metrics.parent / "test_predictions.csv") as f:
        faces = list(csv.DictReader(f))
    flagged = flagged_ids(run.audit)
    kept = [r for r in faces if r["id"] not in flagged]
    assert metrics["unflagged_faces"] == len(kept) and metrics["flagged_faces"] == len(faces) - len(
        kept
    )
    right = sum(int(r["predicted"]) == int(r["label"]) for r in kept)
    assert metrics["accuracy_unflagged"] == pytest.approx(right / len(kept))
    assert "did not flag" in run.report.read_text()
    assert run.predictions is not None  # blessed (TINY's gate) and scored


@pytest.mark.slow
def test_audit_drop_mode_trains_and_evaluates_on_the_labels_it_trusts(
    audit_runs: dict[str, LocalRun],
) -> None:
    run = audit_runs["drop"]
    assert run.audit is not None
    flagged = flagged_ids(run.audit)
    assert flagged  # 20 % flipped labels: the audit finds some
    (ingested,) = run.run_dir.glob("ingest-*")  # the second ingest, with the corrections
    manifest = ingested / "manifest" / "manifest.csv"
    with open(manifest) as f:
        rows = list(csv.DictReader(f))
    assert {r["id"] for r in rows if r["label_source"] == "dropped"} == flagged
    # none of the flagged faces reached training or the test split
    with open(run.metrics.parent / "test_predictions.csv") as f:
        tested = {r["id"] for r in csv.DictReader(f)}
    assert tested and not tested & flagged
    metrics = metrics_of(run)
    assert metrics["flagged_faces"] == 0 and metrics["accuracy_unflagged"] == metrics["accuracy"]
    assert run.predictions is not None
