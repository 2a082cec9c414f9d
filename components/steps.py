"""One thin KFP component per pipeline step.

Each component only maps KFP inputs and outputs onto the step's plain function in the
``glasses`` package, which is installed in the image: nothing is pip-installed at run time
(``install_kfp_package=False``), and KFP's local runner can run them in this Python.
Artifacts are folders (``.path``); on a cluster KFP moves them to and from the ``gs://``
pipeline root. The bodies import inside the function because KFP ships only the function's
source to the container; what KFP's run page shows of a result is glasses.run_page's.

"No audit" is an artifact too (``no_audit``: an audit folder that says the audit is off), so
that ingest, the audit's rounds and evaluate each have one component whose audit input is
always connected: KFP's local runner refuses an optional input artifact left unconnected
(kubeflow/pipelines#13061), which otherwise would take a twin of each.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

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

from components.placement import DEFAULT_IMAGE


def _component(func: Callable[..., Any]) -> Any:
    """A KFP component (an object, no longer a function) running ``func`` in our image."""
    return dsl.component(func, base_image=DEFAULT_IMAGE, install_kfp_package=False)


@_component
def fingerprint_source(source: str, extra_labels: str) -> str:
    """A digest of the source's (and the extra labels') file names and sizes: ingest's cache
    key."""
    from glasses.data.ingest import source_fingerprint

    return source_fingerprint(source, extra_labels)


@_component
def no_audit(audit: Output[Dataset]) -> None:
    """An audit folder saying there is no audit: what the steps that take one get when the
    pipeline's audit is off (and what the audit's first round starts from)."""
    from glasses.audit.audit import write_no_audit

    write_no_audit(audit.path)


@_component
def ingest(
    source: str,
    source_fingerprint: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    label_corrections: str,
    extra_labels: str,
    audit: Input[Dataset],
    manifest: Output[Dataset],
) -> None:
    """Validate the dataset and write manifest.csv with its split, adding the reviewed faces
    of ``extra_labels`` if given, applying the label corrections file if one is given, then the
    audit's corrections.csv if ``audit`` holds an audit (source_fingerprint is only part of
    the cache key)."""
    from glasses import artifacts, storage
    from glasses.audit.audit import found
    from glasses.console import setup
    from glasses.data.ingest import ingest as run

    setup()  # our logging level, from pipeline.py --log-level
    fixes = [label_corrections] if label_corrections else []
    if found(audit.path):
        fixes.append(storage.join(audit.path, artifacts.CORRECTIONS))
    counts = run(
        source, manifest.path, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
        label_corrections=fixes, extra_labels=[extra_labels] if extra_labels else [],
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
    from glasses.data.shard import shard as run
    from glasses.run_page import pipeline_words

    setup()  # our logging level, from pipeline.py --log-level
    with pipeline_words({"num_workers": "num_shard_workers"}):
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
    from glasses import parts as protocol
    from glasses import storage
    from glasses.console import setup
    from glasses.data.shard import finish
    from glasses.run_page import show_shards

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, shards.path)
    show_shards(protocol.gathered(finish(shards.path), shards.path, "shard"), shards)


@_component
def audit(
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
    """One worker's folds of the label audit through ``through_round``: a model per fold,
    trained on the other folds, predicting its own; ``previous`` holds every fold of the
    rounds before (no audit before the first round)."""
    from glasses import storage
    from glasses.audit.audit import audit as run
    from glasses.audit.audit import found
    from glasses.audit.folds import Settings
    from glasses.console import setup
    from glasses.run_page import pipeline_words

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    if found(previous.path):
        storage.copy_tree(previous.path, audit_parts.path)
    names = {"folds": "audit_folds", "num_workers": "num_audit_workers"}
    with pipeline_words(names):
        run(shards.path, audit_parts.path, Settings(folds=folds, seed=seed, epochs=epochs),
            num_workers=num_workers, worker_index=worker_index,
            through_round=through_round)  # fmt: skip


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
    from glasses import parts as protocol
    from glasses import storage
    from glasses.audit.audit import finish
    from glasses.console import setup
    from glasses.run_page import show_audit

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, audit.path)
    report = protocol.gathered(finish(audit.path), audit.path, "audit")
    show_audit(report, audit, review, review_tasks, audit_metrics)


# fmt: off
@_component
def training_inputs(
    shards: Input[Dataset], audit: Input[Dataset]
) -> NamedTuple("Outputs", [("shards", str), ("audit", str)]):  # type: ignore[valid-type]
    # fmt: on
    """Where the shards the model trains on and the audit it is judged with are, for the one
    tail of the DAG: dsl.OneOf picks the branch's that ran, and the tail imports them back as
    artifacts (the local runner picks parameters, not artifacts, out of branches)."""
    from collections import namedtuple

    Outputs = namedtuple("Outputs", ["shards", "audit"])
    return Outputs(shards.uri, audit.uri)


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
    from glasses.model.tune import tune as run
    from glasses.run_page import pipeline_words

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    with pipeline_words({"epochs": "tune_epochs"}):
        run(shards.path, tuning.path, tuner=tuner, search_space=search_space,
            max_trials=max_trials, epochs=epochs, seed=seed)  # fmt: skip


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
    from glasses.model.hparams import HParams
    from glasses.model.train import train as run

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
    """Test-split metrics, the report and the blessing; the registry's latest model is the
    baseline; with an audit, also the accuracy on the test faces whose labels it did not
    flag. Returns whether the model is blessed."""
    from glasses.audit.audit import found
    from glasses.console import setup
    from glasses.evaluation.evaluate import evaluate as run
    from glasses.run_page import pipeline_words, show_evaluation

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    with pipeline_words({"baseline": "model_registry"}):
        result = run(
            shards.path, model.path, evaluation.path, uncertain_low=uncertain_low,
            uncertain_high=uncertain_high, min_accuracy=min_accuracy,
            baseline=model_registry or None, max_regression=max_regression,
            audit=audit.path if found(audit.path) else None,
        )  # fmt: skip
    show_evaluation(result, evaluation.path, metrics, classification, report, summary)
    return bool(result.blessed)


@_component
def publish(model: Input[Model], evaluation: Input[Artifact], model_registry: str) -> str:
    """Copy the blessed model to the registry and move its latest pointer; '' = no registry."""
    import json

    from glasses import artifacts, storage
    from glasses.console import setup
    from glasses.model.registry import publish as run

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
    from glasses.run_page import pipeline_words
    from glasses.scoring.score import score as run

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    with pipeline_words({"source": "score_source", "num_workers": "num_score_workers"}):
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
def score_new_faces(
    model: Input[Model],
    source: str,
    uncertain_low: float,
    uncertain_high: float,
    accepted_output: str,
    accept_only_healthy: bool,
    review_output: str,
    num_workers: int,
    worker_index: int,
    predictions: Output[Dataset],
) -> None:
    """One worker's share of a new batch: the faces of ``source`` the model has not scored
    (by the ledger under ``review_output``; merge-scores writes the review files)."""
    from glasses import storage
    from glasses.console import setup
    from glasses.run_page import pipeline_words
    from glasses.scoring.score import LEDGER_DIR
    from glasses.scoring.score import score as run

    setup(tensorflow=True)  # our logging level; TensorFlow imported without its chatter
    with pipeline_words({"num_workers": "num_score_workers", "model": "model_registry"}):
        run(
            model.path,
            source,
            predictions.path,
            uncertain_low=uncertain_low,
            uncertain_high=uncertain_high,
            accepted_output=accepted_output or None,
            accept_only_healthy=accept_only_healthy,
            ledger=storage.join(review_output, LEDGER_DIR) if review_output else None,
            num_workers=num_workers,
            worker_index=worker_index,
        )


@_component
def merge_scores(
    model: Input[Model],
    max_uncertain_share: float,
    max_drift: float,
    review_output: str,
    run_name: str,
    parts: Input[list[Dataset]],
    predictions: Output[Dataset],
    batch_health: Output[Metrics],
    batch_report: Output[HTML],
    review: Output[HTML],
    review_tasks: Output[Dataset],
    summary: Output[Markdown],
) -> bool:
    """Gather every worker's parts: predictions.csv, score_report.json, the batch health
    report judged with these thresholds, the uncertain faces as a review page and Label Studio
    tasks (also to ``review_output``/``run_name`` if given), and the run's summary. Gathers
    only: no image decoded, no model loaded (the model folder is where its reference profile
    is). Returns whether the batch is healthy."""
    from glasses import parts as protocol
    from glasses import storage
    from glasses.console import setup
    from glasses.run_page import show_scores
    from glasses.scoring.health import Thresholds
    from glasses.scoring.score import finish

    setup()  # our logging level, from pipeline.py --log-level
    for part in parts:
        storage.copy_tree(part.path, predictions.path)
    thresholds = Thresholds(max_uncertain_share=max_uncertain_share, max_drift=max_drift)
    folder = storage.join(review_output, run_name) if review_output else None
    verdict = finish(predictions.path, thresholds, model=model.path, review_output=folder)
    verdict = protocol.gathered(verdict, predictions.path, "score")
    show_scores(verdict, predictions, batch_health, batch_report, review, review_tasks, summary)
    return bool(verdict["healthy"])


@_component
def resolve_model(model_registry: str) -> NamedTuple(  # type: ignore[valid-type]
    "Outputs", [("model", str), ("version", str), ("run", str)]
):
    """The registry's latest model, before anything is scored: an empty or unreadable registry
    fails here, in one line naming it. Also the run's name for its review folder (the UTC time:
    every worker must use the same one, and only this step runs once per run)."""
    from collections import namedtuple
    from datetime import UTC, datetime

    from glasses.console import setup
    from glasses.model.registry import resolve
    from glasses.run_page import pipeline_words

    setup()  # our logging level, from pipeline.py --log-level
    with pipeline_words({}):
        published = resolve(model_registry, "model_registry")
    print(f"resolve-model: {model_registry}: version {published.version} ({published.model})")
    run = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    Outputs = namedtuple("Outputs", ["model", "version", "run"])
    return Outputs(published.model, published.version, run)


@_component
def check_batch(healthy: bool, fail_on_drift: bool) -> None:
    """Fail the run when the batch is unhealthy and ``fail_on_drift`` asks for it: after every
    output is written, so the run page still shows why."""
    if fail_on_drift and not healthy:
        raise RuntimeError("the scored batch is unhealthy (see its batch report); fail_on_drift "
                           "is set")  # fmt: skip


# ---- the paper's experiments (components/experiments.py) ------------------------------------


@_component
def plan_experiments(study: str, seeds: int) -> list[int]:
    """The resolutions the chosen studies shard at (checks the studies and seeds first)."""
    from glasses.experiments.run import plan

    return plan(study, seeds)[0]


@_component
def experiments_data(source: str, output: str) -> str:
    """Ingest the source once into ``output``/ingested; returns the manifest's URI."""
    from glasses.console import setup
    from glasses.experiments.run import prepare

    setup()  # our logging level, from pipeline.py --log-level
    return prepare(source, output)


@_component
def experiments_shard(output: str, resolution: int) -> str:
    """The shards at one resolution, once, into ``output``/shards/<R>px, from the manifest
    experiments-data wrote; returns their URI. (The manifest is found by its place, not
    passed: KFP 2.17's local runner hands a task in a ParallelFor the loop's item for every
    parameter an upstream task produced.)"""
    from glasses.console import setup
    from glasses.experiments.layout import manifest
    from glasses.experiments.run import shard_once

    setup()
    return shard_once(manifest(output), output, resolution)


@_component
def plan_experiment_runs(study: str, seeds: int, shards: list[str]) -> list:  # type: ignore[type-arg]
    """Each run (configuration and seed), once every resolution's shards are written."""
    from glasses.experiments.run import plan

    return plan(study, seeds)[1]


@_component
def experiment_run(
    source: str,
    output: str,
    configuration: str,
    seed: int,
    protocol: str,
    epochs: int,
    max_trials: int,
    tune_epochs: int,
) -> str:
    """One configuration at one seed: tune if tuned, train, evaluate, result.json (skipped when
    an earlier run finished it); ``epochs`` 0: the protocol's own."""
    from glasses.console import setup
    from glasses.experiments.run import run_configuration

    setup()
    run_configuration(source, output, configuration, seed, protocol, epochs or None,
                      max_trials, tune_epochs)  # fmt: skip
    return configuration


@_component
def experiments_report(
    output: str,
    runs: list[str],
    page: Output[HTML],
    tables: Output[Markdown],
    results: Output[Metrics],
) -> None:
    """The paper's tables and page from every finished run, on the run page too."""
    from glasses.console import setup
    from glasses.run_page import show_experiments

    setup()
    show_experiments(output, page, tables, results)
