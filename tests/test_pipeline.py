"""The compiled DAG (every task, parameter, GPU setting, If and ParallelFor; a golden file),
the parameter file, and pipeline.py's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import components
import glasses
import pipeline

GOLDEN = Path(__file__).parent / "golden" / "glasses_pipeline.yaml"
REPO = Path(__file__).parent.parent


def compiled(tmp_path: Path, settings: pipeline.CompileSettings | None = None) -> dict[str, Any]:
    """The pipeline spec, with the Kubernetes platform spec (a second YAML document) under
    ``platform``."""
    path = tmp_path / "p.yaml"
    pipeline.compile_pipeline(str(path), settings)
    docs = list(yaml.safe_load_all(path.read_text()))
    spec: dict[str, Any] = docs[0]
    spec["platform"] = docs[1] if len(docs) > 1 else {}
    return spec


def without_sdk_version(text: str) -> str:
    """The kfp version that compiled it is not part of our pipeline's shape."""
    return "\n".join(line for line in text.splitlines() if "sdkVersion" not in line)


def all_tasks(dag: dict[str, Any], components_: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task in the DAG, descending into If and ParallelFor sub-DAGs."""
    found = {}
    for name, task in dag["tasks"].items():
        found[name] = task
        inner = components_[task["componentRef"]["name"]].get("dag")
        if inner:
            found.update(all_tasks(inner, components_))
    return found


def test_golden_file_guards_unintended_changes(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    pipeline.compile_pipeline(str(path))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(path.read_text())
    assert without_sdk_version(path.read_text()) == without_sdk_version(GOLDEN.read_text()), (
        "the compiled pipeline changed; if intended: UPDATE_GOLDEN=1 make test"
    )


def test_every_task_parameter_and_default(tmp_path: Path) -> None:
    spec = compiled(tmp_path)
    tasks = all_tasks(spec["root"]["dag"], spec["components"])
    names = {t["taskInfo"]["name"] for t in tasks.values()}
    for step in ("ingest", "shard", "merge-shards", "tune", "train", "evaluate", "publish",
                 "score", "predictions-unlabelled", "predictions-new-faces"):  # fmt: skip
        assert step in names, step
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "defaultValue" not in params["source"] and not params["source"].get("isOptional")
    expected = {
        "resolution": 64, "val_fraction": 0.1, "test_fraction": 0.1, "seed": 0,
        "tuner": "random", "max_trials": 5, "search_space": "architecture", "tune_epochs": 10,
        "epochs": 30, "batch_size": 0, "min_accuracy": 0.85, "max_regression": 0.01,
        "uncertain_low": 0.4, "uncertain_high": 0.6, "model_registry": "", "score_source": "",
        "accepted_output": "", "num_shard_workers": 2, "num_score_workers": 2,
        "max_uncertain_share": 0.15, "max_drift": 0.25, "label_corrections": "", "audit": "off",
        "audit_folds": 5, "num_audit_workers": 5,
    }  # fmt: skip
    assert {k: v.get("defaultValue") for k, v in params.items() if k != "source"} == expected
    assert all(v.get("description") for v in params.values())  # the run form explains each


def test_gpu_settings_if_parallel_for_and_image(tmp_path: Path) -> None:
    spec = compiled(tmp_path)
    executors = spec["deploymentSpec"]["executors"]
    for name in ("exec-train", "exec-tune", "exec-audit", "exec-audit-next-round"):
        resources = executors[name]["container"]["resources"]
        assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
        assert resources["accelerator"]["resourceCount"] == "1"
    assert "accelerator" not in executors["exec-evaluate"]["container"]["resources"]
    assert all(e["container"]["resources"].get("cpuRequest") for e in executors.values())
    assert all(e["container"]["resources"].get("memoryRequest") for e in executors.values())
    assert {e["container"]["image"] for e in executors.values()} == {components.DEFAULT_IMAGE}
    assert components.DEFAULT_IMAGE.endswith(f":{glasses.__version__}")  # the package version

    k8s = spec["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name in ("exec-train", "exec-tune", "exec-audit", "exec-audit-next-round"):
        assert k8s[name]["nodeSelector"]["labels"] == {
            "cloud.google.com/gke-accelerator": "nvidia-l4"
        }
        (toleration,) = k8s[name]["tolerations"]
        assert toleration == {"key": "nvidia.com/gpu", "operator": "Exists",
                              "effect": "NoSchedule"}  # fmt: skip

    tasks = all_tasks(spec["root"]["dag"], spec["components"])
    conditions = [t["triggerPolicy"]["condition"] for t in tasks.values() if "triggerPolicy" in t]
    # each audit branch gates on its own evaluate
    assert any("evaluate-Output" in cond and "== true" in cond for cond in conditions)
    assert any("evaluate-audited-Output" in cond and "== true" in cond for cond in conditions)
    assert any("score_source" in cond for cond in conditions)
    assert any("pipelinechannel--audit'] == 'drop'" in cond for cond in conditions)
    assert any("pipelinechannel--audit'] == 'report'" in cond for cond in conditions)
    loops = [t for t in tasks.values() if "parameterIterator" in t]
    assert {t["taskInfo"]["name"] for t in loops} == {
        "shard-workers", "score-unlabelled-workers", "score-new-faces-workers",
        "audit-round-1-workers", "audit-round-2-workers", "shard-audited-workers",
    }  # fmt: skip
    # the audit's second round trains on what every fold of the first round flagged
    second = [t for name, t in tasks.items() if name.startswith("audit-next-round")]
    assert len(second) == 2  # in the report and the drop branch
    for task in second:
        previous = task["inputs"]["artifacts"]["previous"]["componentInputArtifact"]
        assert previous.startswith("pipelinechannel--gather-audit-round")


def test_compile_settings_image_and_no_gpu(tmp_path: Path) -> None:
    settings = pipeline.CompileSettings(image="registry.example/glasses:9.9", gpu=None)
    spec = compiled(tmp_path, settings)
    executors = spec["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {"registry.example/glasses:9.9"}
    assert all("accelerator" not in e["container"]["resources"] for e in executors.values())
    assert not spec["platform"]  # no node selector, no toleration


def test_config_file_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("source: gs://bucket/raw\nepochs: 3\nmin_accuracy: 1\ntuner: none\n")
    assert pipeline.load_config(str(good)) == {
        "source": "gs://bucket/raw", "epochs": 3, "min_accuracy": 1.0, "tuner": "none",
    }  # fmt: skip
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("source: x\nepoch: 3\nlearning_rate: 0.1\n")
    with pytest.raises(pipeline.ConfigError, match=r"unknown parameter.*epoch, learning_rate"):
        pipeline.load_config(str(unknown))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("epochs: three\n")
    with pytest.raises(pipeline.ConfigError, match="epochs='three' should be int"):
        pipeline.load_config(str(wrong))
    flag = tmp_path / "flag.yaml"
    flag.write_text("epochs: true\n")
    with pytest.raises(pipeline.ConfigError, match="should be int"):
        pipeline.load_config(str(flag))
    (tmp_path / "list.yaml").write_text("- epochs\n")
    with pytest.raises(pipeline.ConfigError, match="expected a mapping"):
        pipeline.load_config(str(tmp_path / "list.yaml"))


def run_pipeline_py(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), *args],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip


def test_command_line_compile_config_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "g.yaml"
    result = run_pipeline_py("--compile", "--output", str(out), "--image", "my/img:1")
    assert result.returncode == 0, result.stderr
    assert "image: my/img:1" in out.read_text()

    config = tmp_path / "c.yaml"
    config.write_text("source: gs://b/raw\nepochs: 3\nbogus: 1\n")
    bad = run_pipeline_py("--submit", "--host", "http://127.0.0.1:9", "--config", str(config))
    assert bad.returncode == 2 and "unknown parameter(s) bogus" in bad.stderr

    down = run_pipeline_py("--submit", "--host", "http://127.0.0.1:9", "--source", "gs://b/r")
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1  # no traceback, no retry chatter
    assert "cannot reach KFP at http://127.0.0.1:9" in down.stderr

    helps = " ".join(run_pipeline_py("--help").stdout.split())  # as read, not as wrapped
    assert "--source TEXT" in helps and "except for --run-local" in helps
    assert "--epochs N" in helps and "Most epochs of the final training" in helps

    cron = run_pipeline_py("--schedule", "0 3 * *", "--host", "http://x", "--source", "s")
    assert cron.returncode == 2 and "expected 5 cron fields" in cron.stderr


class KfpApiStub:
    """A loopback HTTP server answering the few KFP v2beta1 REST calls that kfp.Client makes to
    submit and schedule, recording each request; or refusing all of them with HTTP 500."""

    def __init__(self, refuse: bool = False, version: str = "") -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        stub = self
        replies = {
            "/experiments": {"experiment_id": "exp-1"},
            "/runs": {"run_id": "run-1"},
            "/recurringruns": {"recurring_run_id": "job-1"},
        }

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(500 if refuse and "healthz" not in self.path else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                stub.requests.append(("GET", self.path, {}))
                healthz = "healthz" in self.path and version
                self._reply({"tag_name": version, "multi_user": False} if healthz else {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(("POST", self.path, body))
                self._reply(next((v for k, v in replies.items() if self.path.endswith(k)), {}))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posted(self, suffix: str) -> dict[str, Any]:
        (body,) = [b for m, p, b in self.requests if m == "POST" and p.endswith(suffix)]
        return body


def test_submit_and_schedule_send_what_kfp_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api = KfpApiStub()
    config = tmp_path / "retrain.yaml"
    config.write_text("source: gs://b/raw\nepochs: 7\n")
    args = ["--host", api.host, "--config", str(config), "--pipeline-root", "gs://b/root"]
    assert pipeline.main(["--submit", *args, "--epochs", "3"]) == 0
    run = api.posted("/runs")
    assert run["experiment_id"] == "exp-1" and run["service_account"] == pipeline.SERVICE_ACCOUNT
    assert run["runtime_config"]["parameters"] == {"source": "gs://b/raw", "epochs": 3}
    assert run["runtime_config"]["pipeline_root"] == "gs://b/root"
    assert run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == pipeline.PIPELINE_NAME
    assert "cloud.google.com/gke-accelerator" in str(run["pipeline_spec"]["platform_spec"])
    assert "submitted run run-1" in capsys.readouterr().out

    assert pipeline.main(["--schedule", "0 3 * * 1", *args]) == 0
    job = api.posted("/recurringruns")
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * 1"
    assert int(job["max_concurrency"]) == 1 and job["no_catchup"] is True
    assert job["service_account"] == pipeline.SERVICE_ACCOUNT
    assert job["runtime_config"]["parameters"]["epochs"] == 7

    refusing = KfpApiStub(refuse=True)
    assert pipeline.main(["--submit", "--host", refusing.host, "--source", "gs://b/raw"]) == 1
    assert f"KFP at {refusing.host} refused: 500" in capsys.readouterr().err


def test_docker_runner_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    outside = ["--run-local", "--runner", "docker", "--pipeline-root", str(root)]
    assert pipeline.main([*outside, "--source", str(tmp_path / "elsewhere")]) == 2
    assert "mounts only the pipeline root" in capsys.readouterr().err
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert pipeline.main(outside) == 2
    assert "no Docker engine reachable" in capsys.readouterr().err
    assert not root.exists() or not any(root.iterdir())  # failed before writing any data


VERSIONS = [("2.5.0", False), ("2.14.0", True), ("2.16.1", True), ("unknown", True)]


@pytest.mark.parametrize(("version", "accepted"), VERSIONS)
def test_submit_refuses_a_backend_without_dsl_collected(
    version: str, accepted: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    api = KfpApiStub(version=version)
    for mode in (["--submit"], ["--schedule", "0 3 * * 1"]):
        code = pipeline.main([*mode, "--host", api.host, "--source", "gs://b/raw"])
        err = capsys.readouterr().err
        if accepted:
            assert code == 0, err
        else:
            assert code == 1 and len(err.strip().splitlines()) == 1
            assert f"runs backend {version}" in err and "needs KFP 2.14.0 or later" in err
    created = [p for m, p, _ in api.requests if m == "POST"]
    assert bool(created) == accepted  # nothing created on a backend that cannot run it


def test_subprocess_runs_name_the_code_they_run_so_the_cache_follows_it(tmp_path: Path) -> None:
    """KFP's cache keys on the task spec; the subprocess runner runs this checkout's code
    whatever image the spec names, so the spec names a digest of that code."""
    from components.dag import CompileSettings, compile_pipeline
    from components.launchers import source_digest, subprocess_settings

    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "sub" / "b.py").write_text("y = 2\n")
    first = source_digest([root])
    assert source_digest([root]) == first and len(first) == 12
    (root / "sub" / "b.py").write_text("y = 3\n")
    edited = source_digest([root])
    assert edited != first
    (root / "c.py").write_text("")
    assert source_digest([root]) != edited
    settings = subprocess_settings(CompileSettings())
    assert settings.image == f"{components.DEFAULT_IMAGE}-src-{source_digest()}"
    output = tmp_path / "p.yaml"
    compile_pipeline(str(output), settings)
    assert f"image: {settings.image}" in output.read_text()
