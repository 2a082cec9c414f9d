"""Where each task runs: the image, its CPU and memory requests, the GPU node pool for the GPU
steps, and whether KFP may reuse a cached result."""

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
}
GPU_STEPS = ("tune", "train", "audit")


@dataclass(frozen=True)
class CompileSettings:
    image: str = DEFAULT_IMAGE
    gpu: GpuSettings | None = field(default_factory=GpuSettings)  # None: train on CPU nodes


def configure(task: Any, settings: CompileSettings, caching: bool = True) -> Any:
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
