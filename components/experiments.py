"""The experiments pipeline's DAG: the paper's studies fanned out on the cluster.

    plan-experiments -> experiments-data (ingest once)
      -> shard fan-out, one per resolution -> plan-experiment-runs
      -> run fan-out, one per configuration and seed (tune, train, evaluate; GPU node pool)
      -> experiments-report (the tables, the page, Metrics)

Every task writes under ``experiments_output`` (glasses.experiments.run says the layout) and
skips what a run before it finished there, so a rerun, or a retried pod, does only what is
missing; the report is built from the finished runs alone, as ``glasses experiments`` does.
"""

import contextvars
from typing import Any

from kfp import compiler, dsl

from components import steps
from components.placement import CompileSettings, configure
from glasses import defaults
from glasses.experiments.studies import PROTOCOLS

PIPELINE_NAME = "glasses-experiments"
DESCRIPTION = "The seed paper's studies over seeds, beside its tables."
DEFAULT_OUTPUT = "glasses_experiments_pipeline.yaml"

DESCRIPTIONS = {
    "source": "Dataset folder or gs:// prefix in the Kaggle layout (train.csv, test.csv, faces).",
    "experiments_output": "Folder or gs:// prefix for the runs, the tables and the page; a rerun "
    "skips what is finished there.",
    "study": "Comma-separated studies: resolution, batch, models.",
    "seeds": "Runs of each configuration (seeds 0, 1, ...).",
    "epochs": "Epochs of every training; 0: the paper's (20, or 30 for the models) under the "
    "paper protocol, the defaults' under project.",
    "max_trials": "Trials of each tuned model's random search.",
    "tune_epochs": "Epochs per tuning trial.",
    "protocol": "paper: its plain loss and epochs; project: this project's defaults.",
}

_SETTINGS: contextvars.ContextVar[CompileSettings] = contextvars.ContextVar("experiment_settings")


def glasses_experiments_pipeline(
    source: str,
    experiments_output: str,
    study: str = defaults.EXPERIMENT_STUDIES,
    seeds: int = defaults.EXPERIMENT_SEEDS,
    epochs: int = 0,
    max_trials: int = defaults.EXPERIMENT_TRIALS,
    tune_epochs: int = defaults.TUNE_EPOCHS,
    protocol: str = defaults.EXPERIMENT_PROTOCOL,
) -> None:
    s = _SETTINGS.get()
    resolutions = configure(steps.plan_experiments(study=study, seeds=seeds), s)
    # the source and output are names: what is behind them may change, so no cached answers
    # (each step skips for itself what it finds finished)
    data = configure(
        steps.experiments_data(source=source, output=experiments_output), s, caching=False
    )
    data.after(resolutions)
    with dsl.ParallelFor(resolutions.output, name="shard-per-resolution") as resolution:
        shard = configure(
            steps.experiments_shard(output=experiments_output, resolution=resolution),
            s,
            caching=False,
        ).after(data)
    runs = configure(
        steps.plan_experiment_runs(study=study, seeds=seeds, shards=dsl.Collected(shard.output)),
        s,
    )
    with dsl.ParallelFor(runs.output, name="run-per-configuration") as run:
        done = configure(
            steps.experiment_run(
                source=source, output=experiments_output, configuration=run.configuration,
                seed=run.seed, protocol=protocol, epochs=epochs, max_trials=max_trials,
                tune_epochs=tune_epochs,
            ),
            s,
            caching=False,
        )  # fmt: skip
    configure(
        steps.experiments_report(output=experiments_output, runs=dsl.Collected(done.output)),
        s,
        caching=False,
    )


glasses_experiments_pipeline.__doc__ = (
    "The seed paper's studies over seeds, beside its tables.\n\nArgs:\n"
    + "".join(f"    {name}: {text}\n" for name, text in DESCRIPTIONS.items())
)
CHOICES = {"protocol": PROTOCOLS}


def build_pipeline(settings: CompileSettings | None = None) -> Any:
    """The pipeline KFP compiles and runs, with compile-time settings (the image) baked in."""
    token = _SETTINGS.set(settings or CompileSettings())
    try:
        return dsl.pipeline(name=PIPELINE_NAME, description=DESCRIPTION)(
            glasses_experiments_pipeline
        )
    finally:
        _SETTINGS.reset(token)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)
