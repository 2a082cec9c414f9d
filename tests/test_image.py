"""The image, built and run for real (``make test-image``; not part of ``make test``).

Builds the cpu target on a stand-in for the official python base (``tests/docker_engine.py``
says what it is) and the gpu target on the same stand-in, then runs, in the cpu image, the
README's ``docker run`` commands as written there and the whole DAG with KFP's DockerRunner.
The engine is started here when none is reachable; where it cannot be, the tests skip with the
reason in one line, and fail under CI.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import docker_engine
from glasses import __version__, storage, synth, testing
from test_docker import readme_docker_lines

pytestmark = pytest.mark.image
REPO = Path(__file__).parent.parent
CPU_TAG = f"glasses-test:{__version__}-cpu"
GPU_TAG = f"glasses-test:{__version__}-gpu"


def _unavailable(reason: object) -> None:
    message = f"image tests cannot run here: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        try:
            host = stack.enter_context(docker_engine.engine())
            docker_engine.standin_base()
        except (docker_engine.EngineUnavailable, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", "") or ""
            _unavailable(f"{err} {detail.strip()[-500:]}".strip())
        try:
            yield host
        finally:  # what this module made goes; the cached stand-in base stays
            ours = "label=org.opencontainers.image.title=glasses"
            made = docker_engine.docker("ps", "-aq", "--filter", ours, check=False).stdout.split()
            if made:
                docker_engine.docker("rm", "-f", *made, check=False)
            docker_engine.docker("rmi", "-f", CPU_TAG, GPU_TAG, check=False)
            docker_engine.docker("image", "prune", "-f", check=False)


def _build(target: str, tag: str) -> None:
    base = docker_engine.STANDIN_BASE
    result = docker_engine.build(
        "-f", str(REPO / "docker" / "Dockerfile"), "--target", target, "-t", tag,
        "--build-arg", f"PYTHON_IMAGE={base}", "--build-arg", f"TENSORFLOW_GPU_IMAGE={base}",
        "--build-arg", f"VERSION={__version__}", str(REPO),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def cpu_image(engine: str) -> str:
    _build("cpu", CPU_TAG)
    return CPU_TAG


def run(image: str, *args: str, entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
    options = ["--entrypoint", entrypoint] if entrypoint else []
    return docker_engine.docker("run", "--rm", "--network", "none", *options, image, *args,
                                check=False)  # fmt: skip


def test_cpu_image_runs_glasses_as_a_user_not_root(cpu_image: str) -> None:
    version = run(cpu_image, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"glasses {__version__}"
    assert run(cpu_image, "glasses", "--version").stdout.strip() == f"glasses {__version__}"
    assert run(cpu_image, "-u", entrypoint="id").stdout.strip() == "10001"
    labels = json.loads(docker_engine.docker("inspect", cpu_image).stdout)[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__


def test_containers_start_quietly(cpu_image: str) -> None:
    """No font cache built at start, no CUDA initialisation error on a machine without GPUs."""
    probe = (
        "import matplotlib.pyplot, tensorflow as tf; tf.config.list_physical_devices(); print('ok')"
    )
    result = run(cpu_image, "-c", probe, entrypoint="python")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
    assert "font cache" not in result.stderr and "Matplotlib" not in result.stderr
    assert "cuInit" not in result.stderr and "E0000" not in result.stderr
    # the image is read-only to its user: nothing can have been installed at start
    assert run(cpu_image, "-c", "import glasses.cli", entrypoint="python").returncode == 0


def test_gpu_target_builds_on_the_same_base(engine: str, cpu_image: str) -> None:
    """Every instruction of the gpu target runs (CUDA itself cannot be tested here)."""
    _build("gpu", GPU_TAG)
    assert run(GPU_TAG, "--version").stdout.strip() == f"glasses {__version__}"
    assert run(GPU_TAG, "-u", entrypoint="id").stdout.strip() == "10001"


def test_readme_docker_commands_run_in_the_image(
    cpu_image: str, tmp_path: Path, gcs_emulator: str
) -> None:
    """The README's lines, as written, through bash: with the host network added (this engine
    has no bridge; the GCS emulator is on loopback) and `--gpus all` dropped when the engine
    has no NVIDIA runtime."""
    runtimes = docker_engine.docker("info", "--format", "{{json .Runtimes}}").stdout
    home = tmp_path / "home"
    adc = home / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "x",
                               "client_secret": "x", "refresh_token": "x"}))  # fmt: skip
    testing.create_bucket("my-bucket")
    env = {**os.environ, "IMAGE": cpu_image, "HOME": str(home)}
    for line in readme_docker_lines():
        if "--gpus" in line and "nvidia" not in runtimes:
            line = line.replace(" --gpus all", "")
        if "gs://my-bucket/" in line:
            storage.copy_tree(str(tmp_path / "data" / "raw"), "gs://my-bucket/raw")
        line = line.replace("docker run ", "docker run --network host -e STORAGE_EMULATOR_HOST ", 1)
        result = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stderr[-3000:]}"
    data = tmp_path / "data"
    with open(data / "predictions" / "predictions.csv") as f:
        scored = list(csv.DictReader(f))
    faces = list((data / "raw").rglob("face-*.png"))
    assert len(scored) == len(faces) == 300
    metrics = json.loads((data / "eval" / "metrics.json").read_text())
    assert metrics["examples"] == json.loads((data / "shards" / "metadata.json").read_text())[
        "splits"]["test"]["records"]  # fmt: skip
    assert (data / "eval" / "report.html").read_text().startswith("<!doctype html>")
    assert (data / "model" / "model.keras").stat().st_uid == os.getuid()  # --user: yours
    assert storage.exists("gs://my-bucket/ingested/manifest.csv")


def test_whole_dag_runs_in_containers(cpu_image: str, tmp_path: Path) -> None:
    """`pipeline.py --run-local --runner docker`: every step in the image, with no network
    (this engine gives containers only loopback), so nothing is installed at run time."""
    root = tmp_path / "root"
    synth.synth(str(root / "raw"), count=80, size=64, seed=11, workers=1)
    result = subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), "--run-local", "--runner", "docker",
         "--image", cpu_image, "--pipeline-root", str(root), "--source", str(root / "raw"),
         "--resolution", "64", "--max-trials", "1", "--tune-epochs", "1", "--epochs", "2",
         "--min-accuracy", "0.0", "--max-regression", "1.0",
         "--model-registry", str(root / "registry")],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (metrics_file,) = root.glob("glasses-*/evaluate/evaluation/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["blessed"] and metrics["examples"] > 0
    (report,) = root.glob("glasses-*/evaluate/evaluation/report.html")
    assert 'id="feature_maps"' in report.read_text()
    # the no-audit branch's scoring (task folders carry the compiled names: merge-scores-N)
    (predictions,) = root.glob("glasses-*/merge-scores*/predictions/predictions.csv")
    with open(predictions) as f:
        assert len({row["id"] for row in csv.DictReader(f)}) == 8  # every unlabelled face
    assert "Found image" in result.stdout + result.stderr  # KFP ran our image, pulled nothing

    # the scoring pipeline, in containers too, against the registry that run published
    batch = root / "gan"
    batch.mkdir()
    for face in sorted((root / "raw").rglob("face-*.png"))[:10]:
        (batch / f"new-{face.name}").write_bytes(face.read_bytes())
    scored = subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), "--pipeline", "scoring", "--run-local",
         "--runner", "docker", "--image", cpu_image, "--pipeline-root", str(root),
         "--model-registry", str(root / "registry"), "--source", str(batch),
         "--review-output", str(root / "review")],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-3000:]
    (score_report,) = root.glob("glasses-scoring-*/merge-scores/predictions/score_report.json")
    counts = json.loads(score_report.read_text())["counts"]
    assert (counts["listed"], counts["scored"], counts["rejected"]) == (10, 10, 0)
    assert list((root / "review").glob("2*/label_studio_tasks.json"))
