"""The DAG: which steps run in what order, with what resources, and where they run.

build_pipeline() is the pipeline function KFP compiles; each task is one of the thin
components of components/steps.py.
"""

from dataclasses import dataclass, field
from typing import Any

from kfp import compiler, dsl, kubernetes

from components import steps as c
from glasses import defaults
from glasses.audit import Settings as AuditSettings
from glasses.health import Thresholds
from glasses.metrics import UNCERTAIN_HIGH, UNCERTAIN_LOW

PIPELINE_NAME = "glasses"
# the Kubernetes service account the steps run as (manifests/base/service-account.yaml)
SERVICE_ACCOUNT = "glasses-pipeline-runner"
DEFAULT_OUTPUT = "glasses_pipeline.yaml"


@dataclass(frozen=True)
class GpuSettings:
    """Where train and tune run: a GKE GPU node pool. GKE labels its GPU nodes with
    ``cloud.google.com/gke-accelerator: <type>`` and taints them ``nvidia.com/gpu=present:
    NoSchedule``, so a pod must both select the label and tolerate the taint."""

    count: int = 1
    accelerator: str = "nvidia-l4"  # GKE accelerator name (node label value)
    resource: str = "nvidia.com/gpu"  # what the container requests
    node_label: str = "cloud.google.com/gke-accelerator"
    taint_key: str = "nvidia.com/gpu"


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str


# requests per step: sized for 5000 faces; the GPU steps also get GpuSettings
RESOURCES: dict[str, Resources] = {
    "fingerprint-source": Resources("250m", "512Mi"),
    "fan-out": Resources("100m", "256Mi"),
    "ingest": Resources("500m", "1Gi"),
    "ingest-audited": Resources("500m", "1Gi"),
    "shard": Resources("2", "4Gi"),
    "merge-shards": Resources("1", "2Gi"),
    "tune": Resources("4", "16Gi"),
    "train": Resources("4", "16Gi"),
    "evaluate": Resources("2", "8Gi"),
    "evaluate-audited": Resources("2", "8Gi"),
    "audit": Resources("4", "16Gi"),
    "audit-next-round": Resources("4", "16Gi"),
    "gather-audit-round": Resources("1", "2Gi"),
    "merge-audit": Resources("1", "2Gi"),
    "publish": Resources("500m", "1Gi"),
    "score": Resources("2", "4Gi"),
    "merge-scores": Resources("1", "4Gi"),
}
GPU_STEPS = ("tune", "train", "audit", "audit-next-round")
AUDIT_MODES = ("off", "report", "drop")


@dataclass(frozen=True)
class CompileSettings:
    image: str = c.DEFAULT_IMAGE
    gpu: GpuSettings | None = field(default_factory=GpuSettings)  # None: train on CPU nodes


def _configure(task: Any, settings: CompileSettings, caching: bool = True) -> Any:
    """Image, resource requests, GPU placement and caching for one task."""
    name = task.component_spec.name.replace("_", "-")
    task.set_container_image(settings.image)
    res = RESOURCES[name]
    task.set_cpu_request(res.cpu).set_memory_request(res.memory)
    if name in GPU_STEPS and settings.gpu is not None:
        gpu = settings.gpu
        task.set_accelerator_type(gpu.resource).set_accelerator_limit(gpu.count)
        kubernetes.add_node_selector(task, gpu.node_label, gpu.accelerator)
        kubernetes.add_toleration(task, key=gpu.taint_key, operator="Exists", effect="NoSchedule")
    task.set_caching_options(caching)
    return task


def build_pipeline(settings: CompileSettings | None = None) -> Any:
    """The pipeline, with compile-time settings (image, GPUs) baked in."""
    s = settings or CompileSettings()

    @dsl.pipeline(name=PIPELINE_NAME, description="Does this GAN face wear glasses?")
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
        uncertain_low: float = UNCERTAIN_LOW,
        uncertain_high: float = UNCERTAIN_HIGH,
        model_registry: str = "",
        score_source: str = "",
        accepted_output: str = "",
        num_shard_workers: int = 2,
        num_score_workers: int = 2,
        max_uncertain_share: float = Thresholds.max_uncertain_share,
        max_drift: float = Thresholds.max_drift,
        label_corrections: str = "",
        audit: str = "off",
        audit_folds: int = 5,
        num_audit_workers: int = 5,
    ) -> None:
        """Train, evaluate and run the glasses CNN.

        Args:
            source: Dataset folder or gs:// prefix in the Kaggle layout (train.csv, test.csv, faces).
            resolution: Side in pixels the faces are resized to (32 to 128 work well).
            val_fraction: Share of labelled faces held out for early stopping.
            test_fraction: Share of labelled faces held out for evaluation.
            seed: Seed of the split and of training.
            tuner: Keras Tuner search: random (the paper's), hyperband, bayesian, or none to skip.
            max_trials: Trials of the random or bayesian search.
            search_space: architecture, learning_rate, or all.
            tune_epochs: Epochs per tuning trial.
            epochs: Most epochs of the final training (early stopping may end it sooner).
            batch_size: Batch per GPU; 0 keeps the tuned hyperparameters' batch size.
            min_accuracy: Test accuracy a model needs to be blessed and published.
            max_regression: How far below the registry's latest model a new one may fall.
            uncertain_low: Low end of the uncertain band of probabilities.
            uncertain_high: High end of the uncertain band of probabilities.
            model_registry: gs:// or local registry of blessed models; empty publishes nothing.
            score_source: Folder or gs:// prefix of new GAN faces to score; empty skips it.
            accepted_output: Where confident faces are copied (glasses/, no_glasses/); empty: no copies.
            num_shard_workers: Parallel shard workers.
            num_score_workers: Parallel score workers.
            max_uncertain_share: A scored batch with a larger share of uncertain faces is unhealthy.
            max_drift: Largest KS distance (or class-share difference) of a scored batch from the model's reference.
            label_corrections: CSV (id,label or Label Studio's export) or gs:// URI of label fixes for ingest; empty = none.
            audit: Label audit: off, report (flag wrong-looking labels, publish the review page), or drop (also train on the labels it trusts).
            audit_folds: Folds of the label audit (one model each).
            num_audit_workers: Parallel audit workers (GPU tasks), each doing one or more folds.
        """  # noqa: E501
        fingerprint = _configure(c.fingerprint_source(source=source), s, caching=False)
        ingest_args = {
            "source": source,
            "source_fingerprint": fingerprint.output,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "seed": seed,
            "label_corrections": label_corrections,
        }
        manifest = _configure(c.ingest(**ingest_args), s).outputs["manifest"]
        shards = _shard_fan_out(s, manifest, resolution, num_shard_workers)
        fit = TrainInputs(
            tuner, search_space, max_trials, tune_epochs, epochs, batch_size, seed,
            model_registry, min_accuracy, max_regression, uncertain_low, uncertain_high,
        )  # fmt: skip
        folds = AuditInputs(audit_folds, epochs, seed, num_audit_workers)
        # the unlabelled split is the same in every branch's shards: score reads the first
        scoring = ScoreInputs(
            shards, uncertain_low, uncertain_high, accepted_output, num_score_workers,
            max_uncertain_share, max_drift, score_source,
        )  # fmt: skip
        # three exclusive branches, each training, gating and scoring its own model (KFP's
        # local runner cannot pick an artifact out of branches with dsl.OneOf)
        with dsl.If(audit == "drop", name="audit-drop"):
            audited = _audit_fan_out(s, shards, folds)
            fixed = _configure(c.ingest_audited(**ingest_args, audit=audited), s)
            fixed_shards = _shard_fan_out(s, fixed.outputs["manifest"], resolution,
                                          num_shard_workers, label="audited")  # fmt: skip
            _train_to_score(s, fixed_shards, fit, audited, scoring)
        with dsl.Elif(audit == "report", name="audit-report"):
            _train_to_score(s, shards, fit, _audit_fan_out(s, shards, folds), scoring)
        with dsl.Else(name="no-audit"):
            _train_to_score(s, shards, fit, None, scoring)

    return glasses_pipeline


def _shard_fan_out(
    s: CompileSettings, manifest: Any, resolution: Any, workers: Any, label: str = ""
) -> Any:
    """shard over ``workers`` parallel tasks, then one task gathers their shards."""
    fan = _configure(c.fan_out(count=workers), s)
    name = f"shard-{label}-workers" if label else "shard-workers"
    with dsl.ParallelFor(fan.output, name=name) as index:
        part = _configure(
            c.shard(manifest=manifest, resolution=resolution, num_workers=workers,
                    worker_index=index),
            s,
        )  # fmt: skip
    merged = c.merge_shards(parts=dsl.Collected(part.outputs["shards"]))
    if label:
        merged.set_display_name(f"shards-{label}")
    return _configure(merged, s).outputs["shards"]


@dataclass(frozen=True)
class AuditInputs:
    """The pipeline channels the audit's fold tasks take."""

    folds: Any
    epochs: Any
    seed: Any
    workers: Any


def _audit_fan_out(s: CompileSettings, shards: Any, i: AuditInputs) -> Any:
    """Each round of the audit's folds over ``i.workers`` parallel GPU tasks (a round's models
    need every fold of the round before), then cleanlab in one task."""
    previous = None
    rounds = AuditSettings().rounds
    for r in range(1, rounds + 1):
        fan = _configure(c.fan_out(count=i.workers), s)
        with dsl.ParallelFor(fan.output, name=f"audit-round-{r}-workers") as index:
            args = {"shards": shards, "folds": i.folds, "epochs": i.epochs, "seed": i.seed,
                    "num_workers": i.workers, "worker_index": index,
                    "through_round": r}  # fmt: skip
            part = _configure(
                c.audit(**args) if previous is None
                else c.audit_next_round(**args, previous=previous),
                s,
            )  # fmt: skip
        collected = dsl.Collected(part.outputs["audit_parts"])
        if r < rounds:
            previous = _configure(c.gather_audit_round(parts=collected), s).outputs["audit_round"]
    merged = _configure(c.merge_audit(parts=collected), s)
    return merged.outputs["audit"]


@dataclass(frozen=True)
class TrainInputs:
    """The pipeline channels tune, train and evaluate take."""

    tuner: Any
    search_space: Any
    max_trials: Any
    tune_epochs: Any
    epochs: Any
    batch_size: Any
    seed: Any
    model_registry: Any
    min_accuracy: Any
    max_regression: Any
    uncertain_low: Any
    uncertain_high: Any


def _train_to_score(
    s: CompileSettings, shards: Any, i: TrainInputs, audit: Any, scoring: "ScoreInputs"
) -> None:
    """tune, train and evaluate on ``shards`` (evaluate also reports on the faces the audit
    did not flag, when there is one); a blessed model is published and scores the unlabelled
    split and any new faces."""
    tuning = _configure(
        c.tune(shards=shards, tuner=i.tuner, search_space=i.search_space,
               max_trials=i.max_trials, epochs=i.tune_epochs, seed=i.seed),
        s,
    ).outputs["tuning"]  # fmt: skip
    model = _configure(
        c.train(shards=shards, tuning=tuning, epochs=i.epochs, batch_size=i.batch_size,
                seed=i.seed),
        s,
    ).outputs["model"]  # fmt: skip
    gate = {
        "shards": shards,
        "model": model,
        "model_registry": i.model_registry,
        "min_accuracy": i.min_accuracy,
        "max_regression": i.max_regression,
        "uncertain_low": i.uncertain_low,
        "uncertain_high": i.uncertain_high,
    }
    # the registry changes between runs under the same name: never reuse a cached verdict
    task = c.evaluate(**gate) if audit is None else c.evaluate_audited(**gate, audit=audit)
    evaluation = _configure(task, s, caching=False)
    with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712
        published = _configure(
            c.publish(model=model, evaluation=evaluation.outputs["evaluation"],
                      model_registry=i.model_registry),
            s,
            caching=False,
        )  # fmt: skip
        _score_fan_out(s, model, scoring, source="", label="unlabelled", after=published)
        with dsl.If(scoring.score_source != "", name="new-faces"):
            _score_fan_out(s, model, scoring, source=scoring.score_source, label="new-faces",
                           after=published)  # fmt: skip


@dataclass(frozen=True)
class ScoreInputs:
    """The pipeline channels every score task takes (besides the model)."""

    shards: Any
    uncertain_low: Any
    uncertain_high: Any
    accepted_output: Any
    workers: Any
    max_uncertain_share: Any
    max_drift: Any
    score_source: Any


def _score_fan_out(
    s: CompileSettings, model: Any, i: ScoreInputs, source: Any, label: str, after: Any
) -> Any:
    """score over ``i.workers`` parallel tasks, then one task gathers their parts."""
    caching = label == "unlabelled"  # new faces arrive under the same folder name: always rescore
    common = {
        "model": model,
        "shards": i.shards,
        "source": source,
        "uncertain_low": i.uncertain_low,
        "uncertain_high": i.uncertain_high,
        "accepted_output": i.accepted_output,
    }
    fan = _configure(c.fan_out(count=i.workers).after(after), s)
    with dsl.ParallelFor(fan.output, name=f"score-{label}-workers") as index:
        part = _configure(c.score(**common, num_workers=i.workers, worker_index=index), s, caching)
    merged = c.merge_scores(
        model=model,
        max_uncertain_share=i.max_uncertain_share,
        max_drift=i.max_drift,
        parts=dsl.Collected(part.outputs["predictions"]),
    )
    merged.set_display_name(f"predictions-{label}")
    return _configure(merged, s, caching)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)
