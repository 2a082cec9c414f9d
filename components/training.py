"""The training pipeline's DAG: which steps run in what order, where, and on what.

    fingerprint-source, no-audit -> ingest -> shard fan-out -> merge-shards
      -> audit: drop    audit rounds' fan-outs -> merge-audit -> ingest (corrections)
                        -> shard fan-out -> merge-shards     -> training-inputs
         audit: report  audit rounds' fan-outs -> merge-audit -> training-inputs
         audit: off                                          -> training-inputs
      -> the shards and audit the branch chose -> tune -> train -> evaluate
      -> if blessed: publish -> score fan-out (the unlabelled split; new faces if given)

The tail (tune to score) is in the DAG once, whichever audit mode runs: each branch says which
shards and which audit it chose (``training-inputs``), ``dsl.OneOf`` picks the branch that
ran, and ``dsl.importer`` makes artifacts of its choice again (KFP's local runner picks only
parameters, not artifacts, out of branches). ``build_pipeline`` bakes in the compile-time
settings (image, GPUs); the parameters are the ones of ``glasses_pipeline``'s signature.
"""

import contextvars
from typing import Any

from kfp import compiler, dsl

from components import steps
from components.placement import CompileSettings, configure
from glasses import defaults
from glasses.errors import OneOf

PIPELINE_NAME = "glasses"
DESCRIPTION = "Does this GAN face wear glasses?"
# the Kubernetes service account the steps run as (manifests/base/service-account.yaml)
SERVICE_ACCOUNT = "glasses-pipeline-runner"
DEFAULT_OUTPUT = "glasses_pipeline.yaml"
AUDIT_MODES = OneOf(("off", "report", "drop"))
AUDIT_ROUNDS = defaults.AUDIT_ROUNDS  # each round is a fan-out stage of its own

# the run form's text for each parameter (KFP reads them from the function's docstring)
DESCRIPTIONS = {
    "source": "Dataset folder or gs:// prefix in the Kaggle layout (train.csv, test.csv, faces).",
    "resolution": "Side in pixels the faces are resized to (32 to 128 work well).",
    "val_fraction": "Share of labelled faces held out for early stopping.",
    "test_fraction": "Share of labelled faces held out for evaluation.",
    "seed": "Seed of the split and of training.",
    "tuner": "Keras Tuner search: random (the paper's), hyperband, bayesian, or none to skip.",
    "max_trials": "Trials of the random or bayesian search.",
    "search_space": "architecture, learning_rate, or all.",
    "tune_epochs": "Epochs per tuning trial.",
    "epochs": "Most epochs of the final training (early stopping may end it sooner).",
    "batch_size": "Batch per GPU; 0 keeps the tuned hyperparameters' batch size.",
    "min_accuracy": "Test accuracy a model needs to be blessed and published.",
    "max_regression": "How far below the registry's latest model a new one may fall.",
    "uncertain_low": "Low end of the uncertain band of probabilities.",
    "uncertain_high": "High end of the uncertain band of probabilities.",
    "model_registry": "gs:// or local registry of blessed models; empty publishes nothing.",
    "score_source": "Folder or gs:// prefix of new GAN faces to score; empty skips it.",
    "accepted_output": "Where confident faces are copied (glasses/, no_glasses/); empty: no "
    "copies.",
    "num_shard_workers": "Parallel shard workers.",
    "num_score_workers": "Parallel score workers.",
    "max_uncertain_share": "A scored batch with a larger share of uncertain faces is unhealthy.",
    "max_drift": "Largest KS distance (or class-share difference) of a scored batch from the "
    "model's reference.",
    "label_corrections": "CSV (id,label or Label Studio's export) or gs:// URI of label fixes "
    "for ingest; empty = none.",
    "extra_labels": "Reviewed faces from outside the source: a CSV (uri,label, or Label Studio's "
    "export of a scoring run's review tasks) or a folder/gs:// prefix of them; empty = none.",
    "audit": "Label audit: off, report (flag wrong-looking labels, publish the review page), or "
    "drop (also train on the labels it trusts).",
    "audit_folds": "Folds of the label audit (one model each).",
    "num_audit_workers": "Parallel audit workers (GPU tasks), each doing one or more folds.",
}

_SETTINGS: contextvars.ContextVar[CompileSettings] = contextvars.ContextVar("settings")


def glasses_pipeline(
    source: str,
    resolution: int = defaults.RESOLUTION,
    val_fraction: float = defaults.VAL_FRACTION,
    test_fraction: float = defaults.TEST_FRACTION,
    seed: int = defaults.SEED,
    tuner: str = defaults.TUNER,
    max_trials: int = defaults.MAX_TRIALS,
    search_space: str = defaults.SEARCH_SPACE,
    tune_epochs: int = defaults.TUNE_EPOCHS,
    epochs: int = defaults.EPOCHS,
    batch_size: int = 0,
    min_accuracy: float = defaults.MIN_ACCURACY,
    max_regression: float = defaults.MAX_REGRESSION,
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
    model_registry: str = "",
    score_source: str = "",
    accepted_output: str = "",
    num_shard_workers: int = defaults.NUM_SHARD_WORKERS,
    num_score_workers: int = defaults.NUM_SCORE_WORKERS,
    max_uncertain_share: float = defaults.MAX_UNCERTAIN_SHARE,
    max_drift: float = defaults.MAX_DRIFT,
    label_corrections: str = "",
    extra_labels: str = "",
    audit: str = defaults.AUDIT_MODE,
    audit_folds: int = defaults.AUDIT_FOLDS,
    num_audit_workers: int = defaults.NUM_AUDIT_WORKERS,
) -> None:
    s = _SETTINGS.get()
    fingerprint = configure(
        steps.fingerprint_source(source=source, extra_labels=extra_labels), s, caching=False
    )
    nothing = configure(steps.no_audit(), s).outputs["audit"]
    ingest_args = {
        "source": source,
        "source_fingerprint": fingerprint.output,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "seed": seed,
        "label_corrections": label_corrections,
        "extra_labels": extra_labels,
    }
    manifest = configure(steps.ingest(**ingest_args, audit=nothing), s).outputs["manifest"]
    shards = _shard_fan_out(s, manifest=manifest, resolution=resolution, workers=num_shard_workers)
    folds = {"folds": audit_folds, "epochs": epochs, "seed": seed, "workers": num_audit_workers}
    with dsl.If(audit == "drop", name="audit-drop"):
        audited = _audit_fan_out(s, shards=shards, nothing=nothing, **folds)
        fixed = configure(steps.ingest(**ingest_args, audit=audited), s)
        fixed.set_display_name("ingest-audited")
        fixed_shards = _shard_fan_out(s, manifest=fixed.outputs["manifest"],
                                      resolution=resolution, workers=num_shard_workers,
                                      label="audited")  # fmt: skip
        dropped = configure(steps.training_inputs(shards=fixed_shards, audit=audited), s)
    with dsl.Elif(audit == "report", name="audit-report"):
        audited = _audit_fan_out(s, shards=shards, nothing=nothing, **folds)
        reported = configure(steps.training_inputs(shards=shards, audit=audited), s)
    with dsl.Else(name="no-audit"):
        unaudited = configure(steps.training_inputs(shards=shards, audit=nothing), s)
    chosen = (dropped, reported, unaudited)
    training_shards, judged_by = _imported(chosen, "shards"), _imported(chosen, "audit")
    tuning = configure(
        steps.tune(shards=training_shards, tuner=tuner, search_space=search_space,
                   max_trials=max_trials, epochs=tune_epochs, seed=seed),
        s,
    ).outputs["tuning"]  # fmt: skip
    model = configure(
        steps.train(shards=training_shards, tuning=tuning, epochs=epochs, batch_size=batch_size,
                    seed=seed),
        s,
    ).outputs["model"]  # fmt: skip
    # the registry changes between runs under the same name: never reuse a cached verdict
    evaluation = configure(
        steps.evaluate(shards=training_shards, model=model, audit=judged_by,
                       model_registry=model_registry, min_accuracy=min_accuracy,
                       max_regression=max_regression, uncertain_low=uncertain_low,
                       uncertain_high=uncertain_high),
        s,
        caching=False,
    )  # fmt: skip
    with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712
        published = configure(
            steps.publish(model=model, evaluation=evaluation.outputs["evaluation"],
                          model_registry=model_registry),
            s,
            caching=False,
        )  # fmt: skip
        # the unlabelled split is the same in every branch's shards: score reads the first's
        scoring = {"model": model, "shards": shards, "uncertain_low": uncertain_low,
                   "uncertain_high": uncertain_high, "accepted_output": accepted_output,
                   "workers": num_score_workers, "max_uncertain_share": max_uncertain_share,
                   "max_drift": max_drift, "after": published}  # fmt: skip
        _score_fan_out(s, source="", label="unlabelled", **scoring)
        with dsl.If(score_source != "", name="new-faces"):
            _score_fan_out(s, source=score_source, label="new-faces", **scoring)


glasses_pipeline.__doc__ = "Train, evaluate and run the glasses CNN.\n\nArgs:\n" + "".join(
    f"    {name}: {text}\n" for name, text in DESCRIPTIONS.items()
)


def _imported(chosen: tuple[Any, ...], output: str) -> Any:
    """The artifact the branch that ran chose (``output`` of its training-inputs task)."""
    uri = dsl.OneOf(*(task.outputs[output] for task in chosen))
    task = dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset, reimport=False)
    task.set_display_name(f"training-{output}")
    return task.output


def _shard_fan_out(
    s: CompileSettings, *, manifest: Any, resolution: Any, workers: Any, label: str = ""
) -> Any:
    """shard over ``workers`` parallel tasks, then one task gathers their shards."""
    fan = configure(steps.fan_out(count=workers), s)
    name = f"shard-{label}-workers" if label else "shard-workers"
    with dsl.ParallelFor(fan.output, name=name) as index:
        part = configure(
            steps.shard(manifest=manifest, resolution=resolution, num_workers=workers,
                        worker_index=index),
            s,
        )  # fmt: skip
    merged = steps.merge_shards(parts=dsl.Collected(part.outputs["shards"]))
    if label:
        merged.set_display_name(f"shards-{label}")
    return configure(merged, s).outputs["shards"]


def _audit_fan_out(
    s: CompileSettings, *, shards: Any, nothing: Any, folds: Any, epochs: Any, seed: Any,
    workers: Any,
) -> Any:  # fmt: skip
    """Each round of the audit's folds over ``workers`` parallel GPU tasks (a round's models
    need every fold of the round before: ``nothing`` before the first), then cleanlab in one
    task."""
    previous = nothing
    for r in range(1, AUDIT_ROUNDS + 1):
        fan = configure(steps.fan_out(count=workers), s)
        with dsl.ParallelFor(fan.output, name=f"audit-round-{r}-workers") as index:
            part = configure(
                steps.audit(shards=shards, previous=previous, folds=folds, epochs=epochs,
                            seed=seed, num_workers=workers, worker_index=index,
                            through_round=r),
                s,
            )  # fmt: skip
        collected = dsl.Collected(part.outputs["audit_parts"])
        if r < AUDIT_ROUNDS:
            previous = configure(steps.gather_audit_round(parts=collected), s)
            previous = previous.outputs["audit_round"]
    return configure(steps.merge_audit(parts=collected), s).outputs["audit"]


def _score_fan_out(
    s: CompileSettings, *, model: Any, shards: Any, source: Any, label: str, after: Any,
    uncertain_low: Any, uncertain_high: Any, accepted_output: Any, workers: Any,
    max_uncertain_share: Any, max_drift: Any,
) -> Any:  # fmt: skip
    """score over ``workers`` parallel tasks, then one task gathers their parts."""
    caching = label == "unlabelled"  # new faces arrive under the same folder name: always rescore
    fan = configure(steps.fan_out(count=workers).after(after), s)
    with dsl.ParallelFor(fan.output, name=f"score-{label}-workers") as index:
        part = configure(
            steps.score(model=model, shards=shards, source=source, uncertain_low=uncertain_low,
                        uncertain_high=uncertain_high, accepted_output=accepted_output,
                        num_workers=workers, worker_index=index),
            s,
            caching,
        )  # fmt: skip
    merged = steps.merge_scores(
        model=model,
        max_uncertain_share=max_uncertain_share,
        max_drift=max_drift,
        review_output="",  # the review files stay in the run's artifacts
        run_name="",
        parts=dsl.Collected(part.outputs["predictions"]),
    )
    merged.set_display_name(f"predictions-{label}")
    return configure(merged, s, caching)


def build_pipeline(settings: CompileSettings | None = None) -> Any:
    """The pipeline KFP compiles and runs, with compile-time settings (image, GPUs) baked in."""
    token = _SETTINGS.set(settings or CompileSettings())
    try:
        return dsl.pipeline(name=PIPELINE_NAME, description=DESCRIPTION)(glasses_pipeline)
    finally:
        _SETTINGS.reset(token)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)
