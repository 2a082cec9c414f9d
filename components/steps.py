"""One thin KFP component per pipeline step.

Each component only maps KFP inputs and outputs onto the step's plain function in the
``glasses`` package, which is installed in the image: nothing is pip-installed at run time
(``install_kfp_package=False``), and KFP's local runner can run them in this Python.
Artifacts are folders (``.path``); on a cluster KFP moves them to and from the ``gs://``
pipeline root. The bodies import inside the function because KFP ships only the function's
source to the container.
"""

from collections.abc import Callable
from typing import Any

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

from glasses import __version__

IMAGE_REPOSITORY = "ghcr.io/glasses-ml/glasses"
# one image for every step, tagged with the package version; pipeline.py --image overrides it
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{__version__}"


def _component(func: Callable[..., Any]) -> Any:
    """A KFP component (an object, no longer a function) running ``func`` in our image."""
    return dsl.component(func, base_image=DEFAULT_IMAGE, install_kfp_package=False)


@_component
def fingerprint_source(source: str) -> str:
    """A digest of the source's file names and sizes: ingest's cache key."""
    from glasses.ingest import source_fingerprint

    return source_fingerprint(source)


@_component
def ingest(
    source: str,
    source_fingerprint: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    label_corrections: str,
    manifest: Output[Dataset],
) -> None:
    """Validate the dataset and write manifest.csv with its split, applying the label
    corrections file if one is given (source_fingerprint is only part of the cache key)."""
    from glasses.console import setup
    from glasses.ingest import ingest as run

    setup()  # our logging level, from pipeline.py --log-level
    counts = run(
        source, manifest.path, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
        label_corrections=[label_corrections] if label_corrections else [],
    ).counts()  # fmt: skip
    manifest.metadata.update(
        {k: v for k, v in counts.items() if isinstance(v, int)} | {"source": source}
    )


@_component
def ingest_audited(
    source: str,
    source_fingerprint: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    label_corrections: str,
    audit: Input[Dataset],
    manifest: Output[Dataset],
) -> None:
    """ingest again with the audit's corrections.csv applied after the given corrections file:
    the manifest the audited model trains on."""
    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.ingest import ingest as run

    setup()  # our logging level, from pipeline.py --log-level
    fixes = [label_corrections] if label_corrections else []
    counts = run(
        source, manifest.path, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
        label_corrections=[*fixes, storage.join(audit.path, artifacts.CORRECTIONS)],
    ).counts()  # fmt: skip
    manifest.metadata.update(
        {k: v for k, v in counts.items() if isinstance(v, int)} | {"source": source}
    )


@_component
def fan_out(count: int) -> list[int]:
    """Worker numbers 0..count-1, for a ParallelFor."""
    if count < 1:
        raise ValueError(f"a fan-out needs at least 1 worker, got {count}")
    return list(range(count))


@_component
def shard(
    manifest: Input[Dataset],
    resolution: int,
    num_workers: int,
    worker_index: int,
    shards: Output[Dataset],
) -> None:
    """One worker's share of the TFRecord shards."""
    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.shard import shard as run

    setup()  # our logging level, from pipeline.py --log-level
    run(
        storage.join(manifest.path, artifacts.MANIFEST),
        shards.path,
        resolution=resolution,
        num_workers=num_workers,
        worker_index=worker_index,
    )


@_component
def merge_shards(parts: Input[list[Dataset]], shards: Output[Dataset]) -> None:
    """Gather every worker's shards and write metadata.json: gathers only (no decoding)."""
    from glasses import storage
    from glasses.console import setup
    from glasses.shard import finish, read_metadata

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, shards.path)
    if not finish(shards.path):
        raise RuntimeError(f"{shards.path}: a shard worker's output is missing or incomplete")
    metadata = read_metadata(shards.path)
    shards.metadata.update({"resolution": metadata["resolution"], "records": metadata["records"]})


@_component
def tune(
    shards: Input[Dataset],
    tuner: str,
    search_space: str,
    max_trials: int,
    epochs: int,
    seed: int,
    tuning: Output[Artifact],
) -> None:
    """Keras Tuner search; tuner 'none' skips the search and hands on the default model."""
    from glasses.console import setup
    from glasses.tune import tune as run

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    run(
        shards.path,
        tuning.path,
        tuner=tuner,
        search_space=search_space,
        max_trials=max_trials,
        epochs=epochs,
        seed=seed,
    )


@_component
def train(
    shards: Input[Dataset],
    tuning: Input[Artifact],
    epochs: int,
    batch_size: int,
    seed: int,
    model: Output[Model],
) -> None:
    """Train with the tuned (or default) hyperparameters; batch_size 0 keeps theirs."""
    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.model import HParams
    from glasses.train import train as run

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    result = run(
        shards.path,
        model.path,
        hparams=HParams.load(storage.join(tuning.path, artifacts.BEST_HPARAMS)),
        epochs=epochs,
        batch_size=batch_size or None,
        seed=seed,
    )
    model.metadata.update(
        {"epochs": result.epochs_run, "val_accuracy": round(result.best_val_accuracy, 4)}
    )


@_component
def evaluate(
    shards: Input[Dataset],
    model: Input[Model],
    model_registry: str,
    min_accuracy: float,
    max_regression: float,
    uncertain_low: float,
    uncertain_high: float,
    evaluation: Output[Artifact],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    report: Output[HTML],
    summary: Output[Markdown],
) -> bool:
    """Test-split metrics, the report and the blessing; the registry's latest model is the
    baseline. Returns whether the model is blessed."""
    from glasses.console import setup
    from glasses.kfp_outputs import evaluate_and_show

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    return evaluate_and_show(
        shards.path, model.path, evaluation, metrics, classification, report, summary,
        model_registry=model_registry, min_accuracy=min_accuracy, max_regression=max_regression,
        uncertain_low=uncertain_low, uncertain_high=uncertain_high,
    )  # fmt: skip


@_component
def evaluate_audited(
    shards: Input[Dataset],
    model: Input[Model],
    audit: Input[Dataset],
    model_registry: str,
    min_accuracy: float,
    max_regression: float,
    uncertain_low: float,
    uncertain_high: float,
    evaluation: Output[Artifact],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    report: Output[HTML],
    summary: Output[Markdown],
) -> bool:
    """evaluate, plus the accuracy on the test faces whose labels the audit did not flag."""
    from glasses.console import setup
    from glasses.kfp_outputs import evaluate_and_show

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    return evaluate_and_show(
        shards.path, model.path, evaluation, metrics, classification, report, summary,
        model_registry=model_registry, audit=audit.path, min_accuracy=min_accuracy,
        max_regression=max_regression, uncertain_low=uncertain_low,
        uncertain_high=uncertain_high,
    )  # fmt: skip


@_component
def publish(model: Input[Model], evaluation: Input[Artifact], model_registry: str) -> str:
    """Copy the blessed model to the registry and move its latest pointer; '' = no registry."""
    import json

    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.registry import publish as run

    setup()  # our logging level, from pipeline.py --log-level
    if not model_registry:
        print("publish: no model_registry given; nothing published")
        return ""
    metrics = json.loads(storage.read_text(storage.join(evaluation.path, artifacts.METRICS)))
    return run(model.path, model_registry, metrics).version


@_component
def score(
    model: Input[Model],
    shards: Input[Dataset],
    source: str,
    uncertain_low: float,
    uncertain_high: float,
    accepted_output: str,
    num_workers: int,
    worker_index: int,
    predictions: Output[Dataset],
) -> None:
    """One worker's share of scoring: ``source`` ('' = the shards' unlabelled split)."""
    from glasses.console import setup
    from glasses.score import score as run

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    run(
        model.path,
        source or shards.path,
        predictions.path,
        uncertain_low=uncertain_low,
        uncertain_high=uncertain_high,
        accepted_output=accepted_output or None,
        num_workers=num_workers,
        worker_index=worker_index,
    )


@_component
def merge_scores(
    model: Input[Model],
    max_uncertain_share: float,
    max_drift: float,
    parts: Input[list[Dataset]],
    predictions: Output[Dataset],
    batch_health: Output[Metrics],
    batch_report: Output[HTML],
) -> None:
    """Gather every worker's parts: predictions.csv, score_report.json and the batch health
    report, judged with these thresholds. Gathers only: no image decoded, no model loaded
    (the model folder is where its reference profile is)."""
    import json

    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.health import Thresholds
    from glasses.score import finish

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, predictions.path)
    thresholds = Thresholds(max_uncertain_share=max_uncertain_share, max_drift=max_drift)
    verdict = finish(predictions.path, thresholds, model=model.path)
    if verdict is None:
        raise RuntimeError(f"{predictions.path}: a score worker's output is missing or incomplete")
    report = json.loads(storage.read_text(storage.join(predictions.path, artifacts.SCORE_REPORT)))
    predictions.metadata.update(report["counts"])
    batch_health.log_metric("healthy", float(bool(verdict["healthy"])))
    for key in ("glasses_share", "uncertain_share"):
        if verdict[key] is not None:
            batch_health.log_metric(key, round(float(verdict[key]), 6))
    for test in verdict["tests"]:
        batch_health.log_metric(f"drift_{test['statistic']}", round(float(test["distance"]), 6))
    batch_health.metadata["reasons"] = "; ".join(verdict["reasons"]) or "none"
    storage.copy(storage.join(predictions.path, artifacts.BATCH_PAGE), batch_report.path)


@_component
def audit(
    shards: Input[Dataset],
    folds: int,
    epochs: int,
    seed: int,
    num_workers: int,
    worker_index: int,
    through_round: int,
    audit_parts: Output[Dataset],
) -> None:
    """One worker's folds of the label audit's first round(s): a model per fold, trained on the
    other folds, predicting its own."""
    from glasses.audit import pipeline_worker
    from glasses.console import setup

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    pipeline_worker(shards.path, audit_parts.path, folds, epochs, seed, num_workers,
                    worker_index, through_round)  # fmt: skip


@_component
def audit_next_round(
    shards: Input[Dataset],
    previous: Input[Dataset],
    folds: int,
    epochs: int,
    seed: int,
    num_workers: int,
    worker_index: int,
    through_round: int,
    audit_parts: Output[Dataset],
) -> None:
    """One worker's folds of a later round of the label audit: its models train without the
    faces the rounds before (``previous``, every fold of them) flagged."""
    from glasses.audit import pipeline_worker
    from glasses.console import setup

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    pipeline_worker(shards.path, audit_parts.path, folds, epochs, seed, num_workers,
                    worker_index, through_round, previous=previous.path)  # fmt: skip


@_component
def gather_audit_round(parts: Input[list[Dataset]], audit_round: Output[Dataset]) -> None:
    """Every worker's folds of one audit round in one folder, for the next round's workers."""
    from glasses import storage

    for part in parts:
        storage.copy_tree(part.path, audit_round.path)


@_component
def merge_audit(
    parts: Input[list[Dataset]],
    audit: Output[Dataset],
    review: Output[HTML],
    review_tasks: Output[Dataset],
    audit_metrics: Output[Metrics],
) -> None:
    """Gather every fold and flag with cleanlab: label_issues.csv, corrections.csv, the
    review page (shown as HTML) and the Label Studio tasks (a Dataset to import)."""
    from glasses import artifacts, storage
    from glasses.audit import finish
    from glasses.console import setup

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, audit.path)
    report = finish(audit.path)
    audit.metadata.update({"faces": report["faces"], "flagged": report["flagged"]})
    audit_metrics.log_metric("flagged", float(report["flagged"]))
    audit_metrics.log_metric("flagged_share", round(float(report["flagged_share"]), 6))
    for label, rate in report["estimated_noise_rate"].items():
        audit_metrics.log_metric(f"estimated_noise_rate_{label}", round(float(rate), 6))
    storage.copy(storage.join(audit.path, artifacts.AUDIT_PAGE), review.path)
    storage.copy(storage.join(audit.path, artifacts.LABEL_STUDIO_TASKS), review_tasks.path)
