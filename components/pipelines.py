"""The pipelines this project compiles, runs and schedules, as ``pipeline.py --pipeline``
names them: what each is called, where its parameters and their run-form texts are, how it is
built, and what its recurring run is called.

    training (the default): ingest -> shard -> [audit] -> tune -> train -> evaluate -> publish
    scoring: the registry's latest model scores a new batch of GAN faces
    experiments: the seed paper's studies, each configuration over seeds, beside its tables
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from components import experiments, scoring, training
from components.placement import CompileSettings
from glasses.errors import OneOf


@dataclass(frozen=True)
class Pipeline:
    """One pipeline: its module (components/<key>.py) has PIPELINE_NAME, DESCRIPTIONS,
    DEFAULT_OUTPUT, build_pipeline and compile_pipeline, looked up when used."""

    key: str  # what --pipeline says
    module: ModuleType
    function_name: str  # the pipeline function: its signature is the run form
    recurring_run: str  # the name of its schedule
    # parameters whose string values come from a fixed set (the DAG branches on them)
    choices: Mapping[str, OneOf] = field(default_factory=dict)

    @property
    def name(self) -> str:  # the KFP pipeline's name (and the local runner's run folders')
        return str(self.module.PIPELINE_NAME)

    @property
    def function(self) -> Callable[..., None]:
        found: Callable[..., None] = getattr(self.module, self.function_name)
        return found

    @property
    def descriptions(self) -> Mapping[str, str]:
        found: Mapping[str, str] = self.module.DESCRIPTIONS
        return found

    @property
    def default_output(self) -> str:  # the compiled file's name
        return str(self.module.DEFAULT_OUTPUT)

    def build(self, settings: CompileSettings | None = None) -> Any:
        return self.module.build_pipeline(settings)

    def compile(self, path: str, settings: CompileSettings | None = None) -> None:
        self.module.compile_pipeline(path, settings)


TRAINING = Pipeline(
    "training", training, "glasses_pipeline", f"{training.PIPELINE_NAME}-retraining",
    {"audit": training.AUDIT_MODES},
)  # fmt: skip
SCORING = Pipeline(
    "scoring", scoring, "glasses_scoring_pipeline", f"{scoring.PIPELINE_NAME}-hourly"
)
EXPERIMENTS = Pipeline(
    "experiments", experiments, "glasses_experiments_pipeline",
    f"{experiments.PIPELINE_NAME}-monthly", experiments.CHOICES,
)  # fmt: skip
PIPELINES = {p.key: p for p in (TRAINING, SCORING, EXPERIMENTS)}
