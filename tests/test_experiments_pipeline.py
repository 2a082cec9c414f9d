"""The compiled experiments DAG (a golden file, its fan-outs, where the runs go) and a tiny run
of it under KFP's local runner: the tables, the page, and a rerun that skips every run."""

from __future__ import annotations

import json
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

import components.experiments
import pipeline
from components.parameters import pipeline_parameters
from components.pipelines import EXPERIMENTS

GOLDEN = Path(__file__).parent / "golden" / "glasses_experiments_pipeline.yaml"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("experiments") / "e.yaml"
    return compile_to(path, compile_=components.experiments.compile_pipeline)


def test_golden_file_guards_unintended_changes(compiled: dict[str, Any]) -> None:
    assert_golden(compiled, GOLDEN)


def test_shards_fan_out_per_resolution_and_runs_per_configuration_on_gpus(
    compiled: dict[str, Any],
) -> None:
    tasks = all_tasks(compiled["root"]["dag"], compiled["components"])
    loops = {t["taskInfo"]["name"]: t for t in tasks.values() if "parameterIterator" in t}
    assert set(loops) == {"shard-per-resolution", "run-per-configuration"}
    assert loops["run-per-configuration"]["dependentTasks"] == ["plan-experiment-runs"]
    names = {t["taskInfo"]["name"]: t for t in tasks.values()}
    # every shard is written before any run starts: the runs are planned from their outputs
    planned = names["plan-experiment-runs"]["inputs"]["parameters"]["shards"]
    assert planned["taskOutputParameter"]["producerTask"] == "for-loop-1"
    executors = compiled["deploymentSpec"]["executors"]
    run = executors[compiled["components"]["comp-experiment-run"]["executorLabel"]]
    assert run["container"]["resources"]["accelerator"]["resourceCount"] == "1"
    assert names["experiment-run"]["retryPolicy"]["maxRetryCount"] == 5
    outputs = compiled["components"]["comp-experiments-report"]["outputDefinitions"]["artifacts"]
    assert {"page", "tables", "results"} <= set(outputs)
    params = compiled["root"]["inputDefinitions"]["parameters"]
    assert set(params) == set(pipeline_parameters(EXPERIMENTS))
    assert all(v.get("description") for v in params.values())


def test_command_line_compiles_and_checks_the_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "e.yaml"
    assert pipeline.main(["--pipeline", "experiments", "--compile", "--output", str(out)]) == 0
    assert without_sdk_version(out.read_text()) == without_sdk_version(GOLDEN.read_text())
    capsys.readouterr()
    code = pipeline.main(["--pipeline", "experiments", "--compile", "--protocol", "mine"])
    err = capsys.readouterr().err
    assert code == 2 and "protocol" in err and len(err.strip().splitlines()) == 1


def test_submit_names_what_is_missing_then_sends_the_run(
    capsys: pytest.CaptureFixture[str], compiled: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def compile_(path: str, settings: object = None) -> None:
        Path(path).write_text(compiled["text"])

    monkeypatch.setattr(components.experiments, "compile_pipeline", compile_)
    api = KfpApiStub()
    args = ["--pipeline", "experiments", "--submit", "--host", api.host, "--source", "gs://b/raw"]
    assert pipeline.main(args) == 2
    assert "--experiments-output (or experiments_output: in --config) is required" in (
        capsys.readouterr().err
    )
    assert pipeline.main([*args, "--experiments-output", "gs://b/exp", "--seeds", "5"]) == 0
    run = api.posted("/runs")
    assert run["runtime_config"]["parameters"] == {
        "source": "gs://b/raw", "experiments_output": "gs://b/exp", "seeds": 5,
    }  # fmt: skip
    assert run["pipeline_spec"]["pipeline_spec"]["pipelineInfo"]["name"] == "glasses-experiments"


@pytest.mark.slow
def test_a_tiny_run_under_the_local_runner_writes_the_tables_and_a_rerun_skips_every_run(
    small_dataset: Path, tmp_path: Path
) -> None:
    from components.runners import run_experiments_local

    arguments = {"source": str(small_dataset), "experiments_output": str(tmp_path / "exp"),
                 "study": "resolution", "seeds": 1, "epochs": 1}  # fmt: skip
    first = run_experiments_local(arguments, str(tmp_path / "runs"))
    tables = json.loads((first.output / "paper_tables.json").read_text())
    (resolution,) = tables["tables"]
    assert [r["name"] for r in resolution["rows"]] == ["32 px", "64 px", "128 px"]
    assert first.page.read_text().startswith("<!doctype html>")
    assert (first.run_dir / "experiments-report" / "page").read_text() == first.page.read_text()
    stamps = {p: p.stat().st_mtime_ns for p in first.output.rglob("result.json")}
    assert len(stamps) == 3
    second = run_experiments_local(arguments, str(tmp_path / "runs"))
    assert {p: p.stat().st_mtime_ns for p in second.output.rglob("result.json")} == stamps
