"""The DAG: which steps run in what order, with what resources, and where they run.

build_pipeline() is the pipeline function KFP compiles; each task is one of the thin
components of components/steps.py.
"""

from dataclasses import dataclass, field
from typing import Any

from kfp import compiler, dsl, kubernetes

from components import steps as c
from glasses import defaults
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
    "shard": Resources("2", "4Gi"),
    "merge-shards": Resources("1", "2Gi"),
    "tune": Resources("4", "16Gi"),
    "train": Resources("4", "16Gi"),
    "evaluate": Resources("2", "8Gi"),
    "publish": Resources("500m", "1Gi"),
    "score": Resources("2", "4Gi"),
    "merge-scores": Resources("1", "4Gi"),
}
GPU_STEPS = ("tune", "train")


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
        """  # noqa: E501
        fingerprint = _configure(c.fingerprint_source(source=source), s, caching=False)
        manifest = _configure(
            c.ingest(
                source=source,
                source_fingerprint=fingerprint.output,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                seed=seed,
            ),
            s,
        ).outputs["manifest"]
        shard_workers = _configure(c.fan_out(count=num_shard_workers), s)
        with dsl.ParallelFor(shard_workers.output, name="shard-workers") as index:
            part = _configure(
                c.shard(
                    manifest=manifest,
                    resolution=resolution,
                    num_workers=num_shard_workers,
                    worker_index=index,
                ),
                s,
            )
        shards = _configure(c.merge_shards(parts=dsl.Collected(part.outputs["shards"])), s).outputs[
            "shards"
        ]
        tuning = _configure(
            c.tune(
                shards=shards,
                tuner=tuner,
                search_space=search_space,
                max_trials=max_trials,
                epochs=tune_epochs,
                seed=seed,
            ),
            s,
        ).outputs["tuning"]
        model = _configure(
            c.train(shards=shards, tuning=tuning, epochs=epochs, batch_size=batch_size, seed=seed),
            s,
        ).outputs["model"]
        # the registry changes between runs under the same name: never reuse a cached verdict
        evaluation = _configure(
            c.evaluate(
                shards=shards,
                model=model,
                model_registry=model_registry,
                min_accuracy=min_accuracy,
                max_regression=max_regression,
                uncertain_low=uncertain_low,
                uncertain_high=uncertain_high,
            ),
            s,
            caching=False,
        )
        with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712
            published = _configure(
                c.publish(
                    model=model,
                    evaluation=evaluation.outputs["evaluation"],
                    model_registry=model_registry,
                ),
                s,
                caching=False,
            )
            scoring = ScoreInputs(
                model, shards, uncertain_low, uncertain_high, accepted_output, num_score_workers,
                max_uncertain_share, max_drift,
            )  # fmt: skip
            _score_fan_out(s, scoring, source="", label="unlabelled", after=published)
            with dsl.If(score_source != "", name="new-faces"):
                _score_fan_out(s, scoring, source=score_source, label="new-faces", after=published)

    return glasses_pipeline


@dataclass(frozen=True)
class ScoreInputs:
    """The pipeline channels every score task takes."""

    model: Any
    shards: Any
    uncertain_low: Any
    uncertain_high: Any
    accepted_output: Any
    workers: Any
    max_uncertain_share: Any
    max_drift: Any


def _score_fan_out(s: CompileSettings, i: ScoreInputs, source: Any, label: str, after: Any) -> Any:
    """score over ``i.workers`` parallel tasks, then one task gathers their parts."""
    caching = label == "unlabelled"  # new faces arrive under the same folder name: always rescore
    common = {
        "model": i.model,
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
        model=i.model,
        max_uncertain_share=i.max_uncertain_share,
        max_drift=i.max_drift,
        parts=dsl.Collected(part.outputs["predictions"]),
    )
    merged.set_display_name(f"predictions-{label}")
    return _configure(merged, s, caching)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)
