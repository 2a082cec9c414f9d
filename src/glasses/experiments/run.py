"""``glasses experiments``: the paper's studies through the project's own steps.

Ingest once; shard once per resolution; then for each configuration and seed tune (the tuned
models), train and evaluate, into a folder of its own that ends with ``result.json``. Every
stage that finds its output complete is skipped, so a rerun (after a kill, or with more seeds)
does only what is missing (glasses.experiments.layout names the places). The tables and the
page are then built from the ``result.json`` files alone (glasses.experiments.tables), which is
also what the pipeline's gathering step does.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import dataclass

from glasses import defaults, storage
from glasses.artifacts import (
    EXPERIMENT_RESULT,
    GROUND_TRUTH,
    HISTORY,
    METRICS,
    SHARD_METADATA,
    TEST_PREDICTIONS,
)
from glasses.errors import SettingError, at_least
from glasses.experiments import studies
from glasses.experiments.layout import ingested, manifest, run_folder, shards_at
from glasses.experiments.studies import Configuration, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExperimentsSummary:
    runs: int  # configurations x seeds asked for
    ran: int
    skipped: int  # finished in an earlier run
    tables: str
    page: str
    seconds: float


def experiments(
    source: str,
    output: str,
    study: str = defaults.EXPERIMENT_STUDIES,
    seeds: int = defaults.EXPERIMENT_SEEDS,
    epochs: int | None = None,
    max_trials: int = defaults.EXPERIMENT_TRIALS,
    tune_epochs: int = defaults.TUNE_EPOCHS,
    protocol: Protocol = defaults.EXPERIMENT_PROTOCOL,
) -> ExperimentsSummary:
    """Run each chosen study's configurations over ``seeds`` seeds (0, 1, ...) on ``source``
    (the Kaggle layout), skipping what an earlier run finished, and write the tables and the
    page. ``epochs``: every training's (default: the paper's 20, or 30 for the models, under
    the ``paper`` protocol; the defaults' under ``project``)."""
    from glasses.experiments.tables import write_report

    resolutions, runs = plan(study, seeds)
    at_least("max_trials", max_trials, 1)
    at_least("tune_epochs", tune_epochs, 1)
    if epochs is not None:
        at_least("epochs", epochs, 1)
    studies.PROTOCOLS.check("protocol", protocol)
    start = time.perf_counter()
    prepare(source, output)
    for resolution in resolutions:
        shard_once(manifest(output), output, resolution)
    ran = 0
    for run in runs:
        ran += run_configuration(source, output, str(run["configuration"]), int(run["seed"]),
                                 protocol, epochs, max_trials, tune_epochs)  # fmt: skip
    tables, page = write_report(output)
    return ExperimentsSummary(
        runs=len(runs), ran=ran, skipped=len(runs) - ran, tables=tables, page=page,
        seconds=time.perf_counter() - start,
    )  # fmt: skip


def plan(study: str, seeds: int) -> tuple[list[int], list[dict[str, int | str]]]:
    """The resolutions to shard and the runs (configuration key and seed) of ``study``: what
    the pipeline fans out over."""
    chosen = studies.chosen(studies.parse_studies(study))
    at_least("seeds", seeds, 1)
    runs: list[dict[str, int | str]] = [
        {"configuration": c.key, "seed": seed} for c in chosen for seed in range(seeds)
    ]
    return sorted({c.resolution for c in chosen}), runs


def prepare(source: str, output: str) -> str:
    """Ingest ``source`` once (ingest writes its manifest last: there, it is done)."""
    from glasses.data.ingest import ingest

    if not storage.exists(manifest(output)):
        ingest(source, ingested(output))
    return manifest(output)


def shard_once(manifest: str, output: str, resolution: int) -> str:
    """The shards at ``resolution`` (shard writes metadata.json once every file is in)."""
    from glasses.data.shard import shard

    shards = shards_at(output, resolution)
    if not storage.exists(storage.join(shards, SHARD_METADATA)):
        shard(manifest, shards, resolution=resolution)
    return shards


def configuration_named(key: str) -> Configuration:
    found = [c for c in studies.CONFIGURATIONS if c.key == key]
    if not found:
        known = ", ".join(c.key for c in studies.CONFIGURATIONS)
        raise SettingError(f"configuration: no {key!r} (one of {known})", "configuration")
    return found[0]


def run_configuration(
    source: str,
    output: str,
    configuration: str,
    seed: int,
    protocol: Protocol = defaults.EXPERIMENT_PROTOCOL,
    epochs: int | None = None,
    max_trials: int = defaults.EXPERIMENT_TRIALS,
    tune_epochs: int = defaults.TUNE_EPOCHS,
) -> bool:
    """One configuration (its key) at one seed, from the shards at its resolution: tune if it
    is a tuned model, train, evaluate, then ``result.json``. False if that was already there,
    run with the same settings; run with others, it is an error: one output, one protocol's
    settings, so a table never mixes runs of 1 and 20 epochs."""
    from glasses.evaluation.evaluate import evaluate
    from glasses.model.train import train
    from glasses.model.tune import tune

    c = configuration_named(configuration)
    folder = run_folder(output, protocol, c, seed)
    settings = {"epochs": studies.epochs_for(protocol, c.study, epochs)}
    if c.search_space:
        settings |= {"max_trials": max_trials, "tune_epochs": tune_epochs}
    done = storage.join(folder, EXPERIMENT_RESULT)
    if storage.exists(done):
        before = json.loads(storage.read_text(done)).get("settings")
        if before != settings:
            raise SettingError(
                f"{done}: this run was made with {before}, not {settings}; use the same "
                "settings to go on, or another --output",
                *settings,
            )
        log.info("experiments: %s seed %d finished in an earlier run", c.key, seed)
        return False
    shards = shards_at(output, c.resolution)
    hp = studies.hparams_for(protocol, c)
    tune_seconds = 0.0
    if c.search_space:
        tuned = tune(shards, storage.join(folder, "tune"), search_space=c.search_space,
                     max_trials=max_trials, epochs=tune_epochs, seed=seed, hparams=hp)  # fmt: skip
        hp, tune_seconds = tuned.best, tuned.seconds
    model = storage.join(folder, "model")
    monitor = "val_loss" if protocol == "paper" else defaults.MONITOR
    trained = train(shards, model, hparams=hp, epochs=settings["epochs"], seed=seed,
                    monitor=monitor)  # fmt: skip
    evaluation = storage.join(folder, "evaluation")
    evaluate(shards, model, evaluation, min_accuracy=0.0)
    metrics = json.loads(storage.read_text(storage.join(evaluation, METRICS)))
    history = json.loads(storage.read_text(storage.join(model, HISTORY)))
    result = {
        "configuration": c.key, "study": c.study, "name": c.name, "protocol": protocol,
        "seed": seed, "settings": settings, "resolution": c.resolution,
        "batch_size": c.batch_size,
        "search_space": c.search_space, "hparams": json.loads(hp.to_json()),
        "epochs_run": trained.epochs_run, "epoch_kept": trained.epoch_kept,
        "val_accuracy": trained.best_val_accuracy, "val_loss": trained.best_val_loss,
        "test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"],
        "test_accuracy_vs_truth": _accuracy_vs_truth(source, evaluation),
        "seconds": trained.seconds, "tune_seconds": tune_seconds,
        "history": {k: history[k] for k in ("accuracy", "val_accuracy", "loss", "val_loss")
                    if k in history},
    }  # fmt: skip
    storage.write_text(done, json.dumps(result, indent=1) + "\n")
    return True


def _accuracy_vs_truth(source: str, evaluation: str) -> float | None:
    """The test predictions against ``ground_truth.csv`` beside the source's CSVs (synthetic
    data has one), or None."""
    truth_uri = storage.join(source, GROUND_TRUTH)
    if not storage.exists(truth_uri):
        return None
    truth = {
        r["id"]: r["true_label"] for r in csv.DictReader(io.StringIO(storage.read_text(truth_uri)))
    }
    rows = list(
        csv.DictReader(io.StringIO(storage.read_text(storage.join(evaluation, TEST_PREDICTIONS))))
    )
    known = [r for r in rows if r["id"] in truth]
    if not known:
        return None
    return float(sum(r["predicted"] == truth[r["id"]] for r in known) / len(known))
