"""Where and how each task runs: the image, its CPU and memory requests, the GPU node pool for
the GPU steps, how often KFP retries it, and whether KFP may reuse a cached result."""

from dataclasses import dataclass, field
from typing import Any

from kfp import kubernetes

from glasses import __version__

IMAGE_REPOSITORY = "ghcr.io/glasses-ml/glasses"
# one image for every step, tagged with the package version; pipeline.py --image overrides it
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{__version__}"


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
    "no-audit": Resources("100m", "256Mi"),
    "fan-out": Resources("100m", "256Mi"),
    "ingest": Resources("500m", "1Gi"),
    "shard": Resources("2", "4Gi"),
    "merge-shards": Resources("1", "2Gi"),
    "audit": Resources("4", "16Gi"),
    "gather-audit-round": Resources("1", "2Gi"),
    "merge-audit": Resources("1", "2Gi"),
    "training-inputs": Resources("100m", "256Mi"),
    "tune": Resources("4", "16Gi"),
    "train": Resources("4", "16Gi"),
    "evaluate": Resources("2", "8Gi"),
    "publish": Resources("500m", "1Gi"),
    "score": Resources("2", "4Gi"),
    "merge-scores": Resources("1", "4Gi"),
    "resolve-model": Resources("100m", "256Mi"),
    "score-new-faces": Resources("2", "4Gi"),
    "check-batch": Resources("100m", "256Mi"),
    "plan-experiments": Resources("100m", "256Mi"),
    "experiments-data": Resources("500m", "1Gi"),
    "experiments-shard": Resources("2", "4Gi"),
    "plan-experiment-runs": Resources("100m", "256Mi"),
    "experiment-run": Resources("4", "16Gi"),
    "experiments-report": Resources("1", "2Gi"),
}
GPU_STEPS = ("tune", "train", "audit", "experiment-run")


@dataclass(frozen=True)
class Retry:
    """KFP's retry policy for a task (``set_retry``): a failed pod is run again after
    ``backoff``, doubling each time, at most ``retries`` times within ``within``.

    Every step can be run again: each resumes from what an earlier attempt finished (parts,
    folds, train's backup) and writes whole objects, so a retry beside a slow first attempt
    cannot corrupt anything (docs/pipelines.md, "Faults"). A retry also repeats a failure no
    retry mends (bad input fails the same way each time); the backoff bounds what that costs.
    """

    retries: int
    backoff: str  # before the first retry
    within: str = "3600s"  # KFP's backoff_max_duration


# quick steps: a few quick retries; the data steps: a minute between them (a flaky store or a
# node drained for an upgrade); the GPU steps: preemptible nodes come back in minutes, and a
# retry goes on from the last epoch or fold that finished, so they get the most retries
DATA_STEPS = ("ingest", "shard", "merge-shards", "evaluate", "score", "merge-scores",
              "score-new-faces", "experiments-data", "experiments-shard")  # fmt: skip
RETRIES: dict[str, Retry] = {
    **{name: Retry(3, "10s") for name in RESOURCES},
    **{name: Retry(3, "60s") for name in DATA_STEPS},
    **{name: Retry(5, "120s", "7200s") for name in GPU_STEPS},
    # fails on purpose (fail_on_drift): the same answer on every attempt
    "check-batch": Retry(0, "0s"),
}


@dataclass(frozen=True)
class CompileSettings:
    image: str = DEFAULT_IMAGE
    gpu: GpuSettings | None = field(default_factory=GpuSettings)  # None: train on CPU nodes
    retries: bool = True  # RETRIES on every task; local runs turn them off (runners._run_dag)


def configure(task: Any, settings: CompileSettings, caching: bool = True) -> Any:
    """Image, resource requests, GPU placement, retries and caching for one task."""
    name = task.component_spec.name.replace("_", "-")
    task.set_container_image(settings.image)
    res = RESOURCES[name]
    task.set_cpu_request(res.cpu).set_memory_request(res.memory)
    if name in GPU_STEPS and settings.gpu is not None:
        gpu = settings.gpu
        task.set_accelerator_type(gpu.resource).set_accelerator_limit(gpu.count)
        kubernetes.add_node_selector(task, gpu.node_label, gpu.accelerator)
        kubernetes.add_toleration(task, key=gpu.taint_key, operator="Exists", effect="NoSchedule")
    retry = RETRIES[name]
    if retry.retries and settings.retries:
        task.set_retry(retry.retries, retry.backoff, 2.0, retry.within)
    task.set_caching_options(caching)
    return task
