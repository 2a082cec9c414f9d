"""The compiled DAG (every task, parameter, GPU setting, If and ParallelFor; a golden file),
the parameter file, and pipeline.py's command line. The DAG is compiled once per test run
(the ``compiled`` fixture); what needs no DAG (parameters, versions, cron) is tested directly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import components.training
import glasses
import pipeline
from components import runners
from components.parameters import ConfigError, load_config, pipeline_parameters
from components.placement import DEFAULT_IMAGE, CompileSettings
from components.training import PIPELINE_NAME, SERVICE_ACCOUNT, compile_pipeline

GOLDEN = Path(__file__).parent / "golden" / "glasses_pipeline.yaml"


def compile_to(
    path: Path, settings: CompileSettings | None = None, compile_: Any = compile_pipeline
) -> dict[str, Any]:
    """The pipeline spec (the training one, or ``compile_``'s), with the Kubernetes platform
    spec (a second YAML document) under ``platform``, and the YAML text under ``text``."""
    compile_(str(path), settings)
    text = path.read_text()
    docs = list(yaml.safe_load_all(text))
    spec: dict[str, Any] = docs[0]
    spec["platform"] = docs[1] if len(docs) > 1 else {}
    spec["text"] = text
    return spec


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default pipeline, compiled once for every test of the module."""
    return compile_to(tmp_path_factory.mktemp("compiled") / "p.yaml")


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


def assert_golden(compiled: dict[str, Any], golden: Path) -> None:
    """The compiled text is the golden file's (rewritten first with UPDATE_GOLDEN=1)."""
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(compiled["text"])
    assert without_sdk_version(compiled["text"]) == without_sdk_version(golden.read_text()), (
        f"the compiled pipeline changed ({golden.name}); if intended: UPDATE_GOLDEN=1 make test"
    )


def test_golden_file_guards_unintended_changes(compiled: dict[str, Any]) -> None:
    assert_golden(compiled, GOLDEN)


def test_every_task_parameter_and_default(compiled: dict[str, Any]) -> None:
    tasks = all_tasks(compiled["root"]["dag"], compiled["components"])
    names = {t["taskInfo"]["name"] for t in tasks.values()}
    for step in ("no-audit", "ingest", "ingest-audited", "shard", "merge-shards", "audit",
                 "merge-audit", "training-inputs", "training-shards", "training-audit", "tune",
                 "train", "evaluate", "publish", "score", "predictions-unlabelled",
                 "predictions-new-faces"):  # fmt: skip
        assert step in names, step
    params = compiled["root"]["inputDefinitions"]["parameters"]
    assert "defaultValue" not in params["source"] and not params["source"].get("isOptional")
    expected = {
        "resolution": 64, "val_fraction": 0.1, "test_fraction": 0.1, "seed": 0,
        "tuner": "random", "max_trials": 5, "search_space": "architecture", "tune_epochs": 10,
        "epochs": 30, "batch_size": 0, "min_accuracy": 0.85, "max_regression": 0.01,
        "uncertain_low": 0.4, "uncertain_high": 0.6, "model_registry": "", "score_source": "",
        "accepted_output": "", "num_shard_workers": 2, "num_score_workers": 2,
        "max_uncertain_share": 0.15, "max_drift": 0.25, "label_corrections": "",
        "extra_labels": "", "audit": "off",
        "audit_folds": 5, "num_audit_workers": 5,
    }  # fmt: skip
    assert {k: v.get("defaultValue") for k, v in params.items() if k != "source"} == expected
    assert all(v.get("description") for v in params.values())  # the run form explains each
    # the parameters the command line offers are the compiled ones, read without a DAG
    assert list(pipeline_parameters()) == ["source", *expected]


def test_the_tail_is_in_the_dag_once_whichever_audit_mode_runs(compiled: dict[str, Any]) -> None:
    """tune -> train -> evaluate -> publish -> score is compiled once, after the audit branches;
    each branch says which shards and audit it chose, and the tail imports the chosen ones."""
    tasks = all_tasks(compiled["root"]["dag"], compiled["components"])
    components_ = compiled["components"]
    for step in ("tune", "train", "evaluate", "publish"):
        assert [n for n in tasks if n == step or n.startswith(f"{step}-")] == [step], step
        assert [c for c in components_ if c == f"comp-{step}" or c.startswith(f"comp-{step}-")] \
            == [f"comp-{step}"]  # fmt: skip
    root = compiled["root"]["dag"]["tasks"]
    assert {"tune", "train", "evaluate"} <= set(root)  # at the top, not inside a branch
    for name in ("training-shards", "training-audit"):
        (importer,) = [t for t in root.values() if t["taskInfo"]["name"] == name]
        uri = importer["inputs"]["parameters"]["uri"]["taskOutputParameter"]
        assert uri["producerTask"].startswith("condition-branches")  # dsl.OneOf of the branches
    train_input = root["train"]["inputs"]["artifacts"]["shards"]["taskOutputArtifact"]
    assert train_input["producerTask"].startswith("importer")
    # one ingest component runs twice: before the audit (given no audit), and with the audit
    executors = compiled["deploymentSpec"]["executors"]
    ingests = [t for t in tasks.values() if t["componentRef"]["name"].startswith("comp-ingest")]
    commands = {
        json.dumps(executors[components_[t["componentRef"]["name"]]["executorLabel"]]["container"])
        for t in ingests
    }
    assert len(ingests) == 2 and len(commands) == 1
    audits = sorted(
        t["inputs"]["artifacts"]["audit"]["taskOutputArtifact"]["producerTask"]
        if "taskOutputArtifact" in t["inputs"]["artifacts"]["audit"]
        else t["inputs"]["artifacts"]["audit"]["componentInputArtifact"]
        for t in ingests
    )
    assert audits[0].startswith("merge-audit") and audits[1] == "no-audit"


def test_gpu_settings_if_parallel_for_and_image(compiled: dict[str, Any]) -> None:
    executors = compiled["deploymentSpec"]["executors"]
    gpu_executors = [n for n in executors if n.split("-", 1)[1].rstrip("-0123456789") in
                     ("train", "tune", "audit")]  # fmt: skip
    assert {"exec-train", "exec-tune", "exec-audit"} <= set(gpu_executors)
    for name in gpu_executors:
        resources = executors[name]["container"]["resources"]
        assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
        assert resources["accelerator"]["resourceCount"] == "1"
    assert "accelerator" not in executors["exec-evaluate"]["container"]["resources"]
    containers = [e for e in executors.values() if "container" in e]
    assert all(e["container"]["resources"].get("cpuRequest") for e in containers)
    assert all(e["container"]["resources"].get("memoryRequest") for e in containers)
    assert {e["container"]["image"] for e in containers} == {DEFAULT_IMAGE}
    assert DEFAULT_IMAGE.endswith(f":{glasses.__version__}")  # the package version

    k8s = compiled["platform"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name in gpu_executors:
        assert k8s[name]["nodeSelector"]["labels"] == {
            "cloud.google.com/gke-accelerator": "nvidia-l4"
        }
        (toleration,) = k8s[name]["tolerations"]
        assert toleration == {"key": "nvidia.com/gpu", "operator": "Exists",
                              "effect": "NoSchedule"}  # fmt: skip

    tasks = all_tasks(compiled["root"]["dag"], compiled["components"])
    conditions = [t["triggerPolicy"]["condition"] for t in tasks.values() if "triggerPolicy" in t]
    assert any("evaluate-Output" in cond and "== true" in cond for cond in conditions)
    assert any("score_source" in cond for cond in conditions)
    assert any("pipelinechannel--audit'] == 'drop'" in cond for cond in conditions)
    assert any("pipelinechannel--audit'] == 'report'" in cond for cond in conditions)
    loops = [t for t in tasks.values() if "parameterIterator" in t]
    assert {t["taskInfo"]["name"] for t in loops} == {
        "shard-workers", "score-unlabelled-workers", "score-new-faces-workers",
        "audit-round-1-workers", "audit-round-2-workers", "shard-audited-workers",
    }  # fmt: skip
    # the audit's second round trains on what every fold of the first round flagged; the first
    # round starts from no audit
    audits = [t for t in tasks.values() if t["componentRef"]["name"].startswith("comp-audit")]
    previous = sorted(
        t["inputs"]["artifacts"]["previous"]["componentInputArtifact"] for t in audits
    )
    assert len(audits) == 4  # two rounds, in the report and in the drop branch
    assert sum("gather-audit-round" in p for p in previous) == 2
    assert sum("no-audit" in p for p in previous) == 2


def test_config_file_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("source: gs://bucket/raw\nepochs: 3\nmin_accuracy: 1\ntuner: none\n")
    assert load_config(str(good)) == {
        "source": "gs://bucket/raw", "epochs": 3, "min_accuracy": 1.0, "tuner": "none",
    }  # fmt: skip
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("source: x\nepoch: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown parameter.*epoch, learning_rate"):
        load_config(str(unknown))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("epochs: three\n")
    with pytest.raises(ConfigError, match="epochs='three' should be int"):
        load_config(str(wrong))
    flag = tmp_path / "flag.yaml"
    flag.write_text("epochs: true\n")
    with pytest.raises(ConfigError, match="should be int"):
        load_config(str(flag))
    (tmp_path / "list.yaml").write_text("- epochs\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(str(tmp_path / "list.yaml"))
    (tmp_path / "mode.yaml").write_text("audit: maybe\n")
    with pytest.raises(ConfigError, match="audit='maybe' should be one of off, report, drop"):
        load_config(str(tmp_path / "mode.yaml"))


def test_compile_settings_image_and_no_gpu(tmp_path: Path) -> None:
    """What configure() gives every task (every task of the default DAG: above), with another
    image and no GPUs: no accelerator, no node selector, no toleration."""
    from kfp import compiler, dsl

    from components import steps
    from components.placement import configure

    settings = CompileSettings(image="registry.example/glasses:9.9", gpu=None)

    @dsl.pipeline(name="two-tasks")
    def two_tasks():  # type: ignore[no-untyped-def]  # KFP reads annotations; these are strings
        data = dsl.importer(artifact_uri="gs://b/shards", artifact_class=dsl.Dataset).output
        tune = steps.tune(shards=data, tuner="none", search_space="all", max_trials=1, epochs=1,
                          seed=0)  # fmt: skip
        configure(tune, settings)
        configure(steps.fan_out(count=2), settings).after(tune)

    compiler.Compiler().compile(two_tasks, str(tmp_path / "p.yaml"))
    docs = list(yaml.safe_load_all((tmp_path / "p.yaml").read_text()))
    executors = [e for e in docs[0]["deploymentSpec"]["executors"].values() if "container" in e]
    assert len(executors) == 2
    assert {e["container"]["image"] for e in executors} == {"registry.example/glasses:9.9"}
    assert all("accelerator" not in e["container"]["resources"] for e in executors)
    assert all(e["container"]["resources"]["cpuRequest"] for e in executors)
    assert len(docs) == 1  # no platform spec


def test_command_line_compile_config_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled_with: list[tuple[str, CompileSettings | None]] = []

    def record(path: str, settings: CompileSettings | None = None) -> None:
        compiled_with.append((path, settings))

    monkeypatch.setattr(components.training, "compile_pipeline", record)
    out = str(tmp_path / "g.yaml")
    assert pipeline.main(["--compile", "--output", out, "--image", "my/img:1", "--gpus", "0"]) == 0
    assert compiled_with == [(out, CompileSettings(image="my/img:1", gpu=None))]
    assert f"compiled the training pipeline to {out} (image my/img:1)" in capsys.readouterr().out

    config = tmp_path / "c.yaml"
    config.write_text("source: gs://b/raw\nepochs: 3\nbogus: 1\n")
    capsys.readouterr()
    bad = pipeline.main(["--submit", "--host", "http://127.0.0.1:9", "--config", str(config)])
    assert bad == 2 and "unknown parameter(s) bogus" in capsys.readouterr().err

    down = pipeline.main(["--submit", "--host", "http://127.0.0.1:9", "--source", "gs://b/r"])
    err = capsys.readouterr().err
    assert down == 1
    assert len(err.strip().splitlines()) == 1, err  # no traceback, no retry chatter
    assert "cannot reach KFP at http://127.0.0.1:9" in err

    assert pipeline.main(["--schedule", "0 3 * *", "--host", "http://x", "--source", "s"]) == 2
    assert "expected 5 cron fields" in capsys.readouterr().err


def test_help_lists_every_parameter_without_building_the_dag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import components.training

    def no_dag(*args: object) -> None:
        raise AssertionError("--help built the DAG")

    monkeypatch.setattr(components.training, "build_pipeline", no_dag)
    with pytest.raises(SystemExit):
        pipeline.main(["--help"])
    helps = " ".join(capsys.readouterr().out.split())  # as read, not as wrapped
    assert "--source TEXT" in helps and "except for --run-local" in helps
    assert "--epochs N" in helps and "Most epochs of the final training" in helps


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


@pytest.fixture
def precompiled(compiled: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Submitting compiles the DAG: the module's compiled pipeline serves (the default
    settings' pipeline, checked against the golden file above)."""

    def compile_(path: str, settings: CompileSettings | None = None) -> None:
        assert settings == CompileSettings()
        Path(path).write_text(compiled["text"])

    monkeypatch.setattr(components.training, "compile_pipeline", compile_)


def test_submit_and_schedule_send_what_kfp_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, precompiled: None
) -> None:
    api = KfpApiStub()
    config = tmp_path / "retrain.yaml"
    config.write_text("source: gs://b/raw\nepochs: 7\n")
    args = ["--host", api.host, "--config", str(config), "--pipeline-root", "gs://b/root"]
    assert pipeline.main(["--submit", *args, "--epochs", "3"]) == 0
    run = api.posted("/runs")
    assert run["experiment_id"] == "exp-1" and run["service_account"] == SERVICE_ACCOUNT
    assert run["runtime_config"]["parameters"] == {"source": "gs://b/raw", "epochs": 3}
    assert run["runtime_config"]["pipeline_root"] == "gs://b/root"
    assert run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == PIPELINE_NAME
    assert "cloud.google.com/gke-accelerator" in str(run["pipeline_spec"]["platform_spec"])
    assert "submitted run run-1" in capsys.readouterr().out

    assert pipeline.main(["--schedule", "0 3 * * 1", *args]) == 0
    job = api.posted("/recurringruns")
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * 1"
    assert int(job["max_concurrency"]) == 1 and job["no_catchup"] is True
    assert job["service_account"] == SERVICE_ACCOUNT
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


@pytest.mark.parametrize(
    ("version", "accepted"),
    [("2.5.0", False), ("2.13.9", False), ("2.14.0", True), ("v2.16.1", True), ("3.0.0", True),
     ("unknown", True), ("2.x", True)],
)  # fmt: skip
def test_backends_without_dsl_collected_are_refused(version: str, accepted: bool) -> None:
    if accepted:
        runners.check_backend("http://kfp", version)  # a warning at most
        return
    with pytest.raises(runners.ClusterError) as caught:
        runners.check_backend("http://kfp", version)
    assert f"runs backend {version}" in str(caught.value)
    assert "needs KFP 2.14.0 or later" in str(caught.value)


def test_submit_and_schedule_refuse_an_old_backend_before_creating_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = KfpApiStub(version="2.5.0")
    for mode in (["--submit"], ["--schedule", "0 3 * * 1"]):
        code = pipeline.main([*mode, "--host", api.host, "--source", "gs://b/raw"])
        err = capsys.readouterr().err
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert "runs backend 2.5.0" in err and "needs KFP 2.14.0 or later" in err
    assert not [p for m, p, _ in api.requests if m == "POST"]  # nothing created
    reported = KfpApiStub(version="2.16.1")
    client = runners._client(reported.host)
    assert runners.backend_version(client) == "2.16.1"  # read from the healthz endpoint


def test_crontabs_take_five_fields_or_six() -> None:
    assert runners.six_field_cron("0 3 * * 1") == "0 0 3 * * 1"
    assert runners.six_field_cron("5 0 3 * * 1") == "5 0 3 * * 1"
    with pytest.raises(ConfigError, match="expected 5 cron fields"):
        runners.six_field_cron("0 3 * *")


def test_subprocess_runs_name_the_code_they_run_so_the_cache_follows_it(tmp_path: Path) -> None:
    """KFP's cache keys on the task spec; the subprocess runner runs this checkout's code
    whatever image the spec names, so the spec names a digest of that code."""
    from components.runners import source_digest, subprocess_settings

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
    assert settings.image == f"{DEFAULT_IMAGE}-src-{source_digest()}"


def test_every_task_that_runs_a_pod_has_a_retry_policy(
    compiled: dict[str, Any], tmp_path: Path
) -> None:
    """In both pipelines: a failed pod is retried with backoff, the GPU steps (preemptible
    nodes; each retry resumes from its backup or finished folds) the most; check-batch, which
    fails on purpose, never."""
    from components import experiments, scoring

    scored = compile_to(tmp_path / "s.yaml", compile_=scoring.compile_pipeline)
    studied = compile_to(tmp_path / "e.yaml", compile_=experiments.compile_pipeline)
    checked = []
    for spec in (compiled, scored, studied):
        for task in all_tasks(spec["root"]["dag"], spec["components"]).values():
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component or "importer" in json.dumps(
                spec["deploymentSpec"]["executors"].get(component.get("executorLabel"), {})
            ):
                continue  # a sub-DAG or an importer: no pod of its own
            policy = task.get("retryPolicy")
            step = task["taskInfo"]["name"]
            if step == "check-batch":
                assert policy is None
                continue
            assert policy and policy["maxRetryCount"] >= 3 and policy["backoffFactor"] == 2.0, step
            checked.append(step)
            if step in ("train", "tune", "experiment-run") or step.startswith("audit"):
                assert policy["maxRetryCount"] == 5 and policy["backoffDuration"] == "120s", step
    assert {"train", "tune", "audit", "shard", "score-new-faces", "resolve-model",
            "experiment-run", "experiments-shard"} <= set(checked)  # fmt: skip
    # what local runs compile: KFP's local runner would sleep through every backoff
    local = compile_to(tmp_path / "local.yaml", CompileSettings(retries=False))
    assert "retryPolicy" not in local["text"]
