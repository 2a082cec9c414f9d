"""The compiled scoring DAG (a golden file, its tasks, parameters, caching) and its command line
(``pipeline.py --pipeline scoring``: compile, help, missing parameters, submit and schedule).
It is run under KFP's local runner in test_pipeline_local."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.test_pipeline import (
    KfpApiStub,
    all_tasks,
    assert_golden,
    compile_to,
    without_sdk_version,
)

import components.scoring
import pipeline
from components.parameters import pipeline_parameters
from components.pipelines import SCORING, TRAINING
from components.training import SERVICE_ACCOUNT

GOLDEN = Path(__file__).parent / "golden" / "glasses_scoring_pipeline.yaml"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("scoring") / "s.yaml"
    return compile_to(path, compile_=components.scoring.compile_pipeline)


def test_golden_file_guards_unintended_changes(compiled: dict[str, Any]) -> None:
    assert_golden(compiled, GOLDEN)


def test_parameters_share_the_training_pipelines_names_and_defaults(
    compiled: dict[str, Any],
) -> None:
    params = compiled["root"]["inputDefinitions"]["parameters"]
    for required in ("model_registry", "source"):
        assert "defaultValue" not in params[required] and not params[required].get("isOptional")
    assert all(v.get("description") for v in params.values())
    training = pipeline_parameters(TRAINING)
    shared = set(params) & set(training)
    assert shared >= {"model_registry", "source", "accepted_output", "uncertain_low",
                      "uncertain_high", "max_uncertain_share", "max_drift",
                      "num_score_workers"}  # fmt: skip
    for name in shared - {"model_registry", "source"}:
        assert params[name]["defaultValue"] == training[name].default, name
    assert set(pipeline_parameters(SCORING)) == set(params)


def test_the_registry_is_read_first_and_a_batch_is_never_cached(compiled: dict[str, Any]) -> None:
    tasks = all_tasks(compiled["root"]["dag"], compiled["components"])
    names = {t["taskInfo"]["name"]: t for t in tasks.values()}
    assert {"resolve-model", "registry-model", "fan-out", "score-new-faces", "predictions",
            "check-batch"} <= set(names)  # fmt: skip
    assert "resolve-model" in names["fan-out"]["dependentTasks"]  # nothing scored before it
    for step in ("resolve-model", "score-new-faces", "predictions"):
        assert names[step]["cachingOptions"] == {}, step  # caching off
    # the review files go to the one folder resolve-model named for the run
    merge = names["predictions"]["inputs"]["parameters"]
    assert merge["run_name"]["taskOutputParameter"]["producerTask"] == "resolve-model"
    outputs = compiled["components"]["comp-merge-scores"]["outputDefinitions"]["artifacts"]
    assert {"predictions", "batch_health", "batch_report", "review", "review_tasks",
            "summary"} <= set(outputs)  # fmt: skip


def test_command_line_compiles_helps_and_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.yaml"
    assert pipeline.main(["--pipeline", "scoring", "--compile", "--output", str(out)]) == 0
    assert "compiled the scoring pipeline" in capsys.readouterr().out
    assert without_sdk_version(out.read_text()) == without_sdk_version(GOLDEN.read_text())
    with pytest.raises(SystemExit):
        pipeline.main(["--pipeline", "scoring", "--help"])
    helps = " ".join(capsys.readouterr().out.split())
    assert "--model-registry TEXT" in helps and "--review-output TEXT" in helps
    assert "--epochs" not in helps  # the training pipeline's parameters are not offered
    code = pipeline.main(["--pipeline", "scoring", "--submit", "--host", "http://x",
                          "--source", "gs://b/new"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--model-registry (or model_registry: in --config) is required on a cluster" in err
    with pytest.raises(SystemExit):
        pipeline.main(["--pipeline", "scoring", "--compile", "--fail-on-drift", "maybe"])
    assert "invalid true or false value: 'maybe'" in capsys.readouterr().err


def test_submit_and_schedule_the_scoring_pipeline(
    capsys: pytest.CaptureFixture[str], compiled: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def compile_(path: str, settings: object = None) -> None:
        Path(path).write_text(compiled["text"])

    monkeypatch.setattr(components.scoring, "compile_pipeline", compile_)
    api = KfpApiStub()
    args = ["--pipeline", "scoring", "--host", api.host, "--model-registry", "gs://b/registry",
            "--source", "gs://b/gan", "--review-output", "gs://b/review",
            "--fail-on-drift", "true"]  # fmt: skip
    assert pipeline.main(["--schedule", "0 * * * *", *args]) == 0
    job = api.posted("/recurringruns")
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 * * * *"
    assert job["display_name"] == "glasses-scoring-hourly"
    assert job["service_account"] == SERVICE_ACCOUNT
    assert job["runtime_config"]["parameters"] == {
        "model_registry": "gs://b/registry", "source": "gs://b/gan",
        "review_output": "gs://b/review", "fail_on_drift": True,
    }  # fmt: skip
    spec = job["pipeline_spec"]["pipeline_spec"] if "pipeline_spec" in job["pipeline_spec"] else (
        job["pipeline_spec"])  # fmt: skip
    assert spec["pipelineInfo"]["name"] == "glasses-scoring"
    assert "recurring run job-1" in capsys.readouterr().out
