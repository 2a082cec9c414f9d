"""Kubernetes manifests: base and GKE overlay render with kustomize, every object validates
against the Kubernetes schemas, and names and labels agree with the pipeline's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.placement import GpuSettings
from components.training import SERVICE_ACCOUNT

MANIFESTS = Path(__file__).parent.parent / "manifests"
K8S_VERSION = "1.31.0"  # GKE's regular channel at the time of writing


def render(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl (with its built-in kustomize) is needed to render manifests/")
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.mark.parametrize("folder", ["base", "overlays/gke"])
def test_renders_and_validates(folder: str) -> None:
    objects = render(MANIFESTS / folder)
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        assert obj["metadata"]["namespace"] == "kubeflow"
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "glasses"


def test_every_resource_file_validates_on_its_own() -> None:
    paths = [
        p for p in sorted(MANIFESTS.rglob("*.yaml"))
        if p.name != "kustomization.yaml" and "overlays" not in p.parts  # overlays: patches
    ]  # fmt: skip
    kinds = []
    for path in paths:
        for obj in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
            kinds.append(obj["kind"])
    assert sorted(set(kinds)) == ["ConfigMap", "RoleBinding", "ServiceAccount"], paths


def test_names_agree_with_pipeline() -> None:
    base = by_kind_name(render(MANIFESTS / "base"))
    gke = by_kind_name(render(MANIFESTS / "overlays" / "gke"))
    account = ("ServiceAccount", SERVICE_ACCOUNT)
    assert account in base and account in gke
    binding = base[("RoleBinding", SERVICE_ACCOUNT)]
    assert binding["subjects"][0]["name"] == SERVICE_ACCOUNT
    assert "iam.gke.io/gcp-service-account" in gke[account]["metadata"]["annotations"]
    assert not base[account]["metadata"].get("annotations")  # no identity in the neutral base
    launcher = gke[("ConfigMap", "kfp-launcher")]["data"]
    assert launcher["defaultPipelineRoot"].startswith("gs://")
    gpu = GpuSettings()
    pool = base[("ConfigMap", "glasses-gpu-node-pool")]["data"]
    assert pool == {
        "nodeLabel": gpu.node_label,
        "accelerator": gpu.accelerator,
        "taint": f"{gpu.taint_key}=present:NoSchedule",
        "resource": gpu.resource,
    }
    readme = (MANIFESTS / "README.md").read_text()
    assert f"[kubeflow/{SERVICE_ACCOUNT}]" in readme
    assert f"type={gpu.accelerator}," in readme
    assert "kubectl apply -k manifests/overlays/gke" in readme
