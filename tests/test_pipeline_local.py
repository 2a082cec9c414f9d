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


@pytest.fixture(scope="module")
def gan_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A folder where a GAN drops new faces (12 now), and 4 more that land later."""
    raw = tmp_path_factory.mktemp("gan") / "raw"
    synth.synth(str(raw), count=16, size=64, seed=12, unlabelled_fraction=0.0, workers=1)
    faces = sorted(raw.rglob("face-*.png"))
    batch = raw.parent / "batch"
    batch.mkdir()
    for i, face in enumerate(faces[:12]):
        (batch / f"gan-{i:03d}.png").write_bytes(face.read_bytes())
    return batch, faces[12:]


@pytest.mark.slow
def test_the_scoring_pipeline_scores_new_faces_and_reviews_flow_back_into_training(
    first_run: tuple[LocalRun, Path], gan_batch: tuple[Path, list[Path]], tiny_source: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The production loop under the local runner: the registry's model scores a GAN batch,
    the uncertain faces become review tasks, a second run scores only the faces that landed
    since, and the reviewed faces join the next training run's data."""
    import pipeline
    from components.runners import run_scoring_local

    _, registry = first_run
    batch, later = gan_batch
    version = json.loads((registry / "latest.json").read_text())["version"]
    # a wide band: a 2-epoch model is unsure of many faces, so there is something to review
    arguments = {"model_registry": str(registry), "source": str(batch),
                 "review_output": str(tmp_path / "review"), "uncertain_low": 0.05,
                 "uncertain_high": 0.95, "accepted_output": str(tmp_path / "accepted")}  # fmt: skip
    first = run_scoring_local(arguments, str(tmp_path / "runs"))
    report = json.loads((first.predictions / "score_report.json").read_text())
    assert report["model_version"] == version
    c = report["counts"]
    assert (c["listed"], c["skipped"], c["scored"], c["rejected"]) == (12, 0, 12, 0)
    with open(first.predictions / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in rows) == [f"gan-{i:03d}.png" for i in range(12)]
    unsure = {r["uri"] for r in rows if r["uncertain"] == "1"}
    assert unsure, "the band is wide: some faces must be uncertain"
    tasks = json.loads((first.run_dir / "merge-scores" / "review_tasks").read_text())
    assert {t["data"]["image"] for t in tasks} == unsure  # exactly the uncertain faces
    (folder,) = (tmp_path / "review").glob("2*")  # the run's own review folder, by its time
    assert json.loads((folder / "label_studio_tasks.json").read_text()) == tasks
    assert (first.run_dir / "merge-scores" / "review").read_text().startswith("<!doctype html>")
    summary = first.summary.read_text()
    assert version in summary and f"| 12 | 12 | {c['accepted']} | {len(unsure)} | 0 |" in summary
    assert json.loads((first.predictions / "batch_report.json").read_text())["count"] == 12

    for i, face in enumerate(later):  # more faces land; an hour later the schedule runs again
        (batch / f"gan-{12 + i:03d}.png").write_bytes(face.read_bytes())
    second = run_scoring_local(arguments, str(tmp_path / "runs"))
    c = json.loads((second.predictions / "score_report.json").read_text())["counts"]
    assert (c["listed"], c["skipped"], c["scored"], c["rejected"]) == (16, 12, 4, 0)

    # a reviewer answers the first run's tasks (here: with the true labels); the export, as a
    # uri,label file, goes to the next training run, whose shards hold the reviewed faces
    with open(batch.parent / "raw" / "ground_truth.csv") as f:
        truth = {int(r["id"]): r["true_label"] for r in csv.DictReader(f)}
    faces = sorted((batch.parent / "raw").rglob("face-*.png"))
    by_name = {f"gan-{i:03d}.png": truth[int(p.stem.split("-")[1])] for i, p in enumerate(faces)}
    reviewed = tmp_path / "reviewed.csv"
    answers = [(t["data"]["image"], by_name[Path(t["data"]["image"]).name]) for t in tasks]
    reviewed.write_text("uri,label\n" + "".join(f"{uri},{label}\n" for uri, label in answers))
    again = run_local({**TINY, "tuner": "none", "source": str(tiny_source),
                       "extra_labels": str(reviewed)}, str(tmp_path / "retrain"))  # fmt: skip
    ingested = json.loads(
        (again.run_dir / "ingest" / "manifest" / "ingest_report.json").read_text()
    )
    assert ingested["extra_labels"]["added"] == len(tasks)
    metadata = json.loads((again.run_dir / "merge-shards" / "shards" / "metadata.json").read_text())
    labelled = sum(metadata["splits"][s]["records"] for s in ("train", "val", "test"))
    assert labelled == 72 + len(tasks)  # tiny_source's 72 labelled faces and the reviewed ones

    empty = tmp_path / "empty-registry"
    empty.mkdir()
    capsys.readouterr()
    code = pipeline.main(["--pipeline", "scoring", "--run-local", "--model-registry",
                          str(empty), "--source", str(batch), "--pipeline-root",
                          str(tmp_path / "e")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("pipeline: error: task resolve-model failed: ")
    assert (
        f"model_registry {empty}: no model.keras (not a folder train wrote) and no latest.json"
        in err[-1]
    )
    assert not list((tmp_path / "e").glob("*/score-new-faces*"))  # nothing was scored
