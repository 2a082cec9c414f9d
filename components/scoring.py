"""The scoring pipeline's DAG: a new batch of GAN faces scored by the registry's current model.

    resolve-model -> (import the model) -> fan-out -> score-new-faces workers -> merge-scores
      -> check-batch

``resolve-model`` reads the registry's latest pointer before anything is scored, so an empty
or unreadable registry fails the run in one line. The workers score only the faces of
``source`` this model has not scored before (the ledger under ``review_output``), so an
hourly schedule over a growing folder costs the new faces only. ``merge-scores`` writes the
predictions, the batch health report, the uncertain faces as Label Studio tasks and a review
page, and the run's summary; ``check-batch`` fails the run afterwards if the batch is
unhealthy and ``fail_on_drift`` is set. The parameters share the training pipeline's names
and defaults where they mean the same thing.
"""

import contextvars
from typing import Any

from kfp import compiler, dsl

from components import steps
from components.placement import CompileSettings, configure
from components.training import DESCRIPTIONS as TRAINING_DESCRIPTIONS
from glasses import defaults

PIPELINE_NAME = "glasses-scoring"
DESCRIPTION = "Score a new batch of GAN faces with the registry's current glasses model."
DEFAULT_OUTPUT = "glasses_scoring_pipeline.yaml"

_SHARED = ("accepted_output", "uncertain_low", "uncertain_high", "max_uncertain_share",
           "max_drift", "num_score_workers")  # fmt: skip
DESCRIPTIONS = {
    "model_registry": "gs:// or local registry the training pipeline publishes to; its latest "
    "model scores the batch.",
    "source": "Folder or gs:// prefix of new GAN faces (image files, any names).",
    **{name: TRAINING_DESCRIPTIONS[name] for name in _SHARED},
    "review_output": "Folder or gs:// prefix: each run's uncertain faces as Label Studio tasks "
    "and a review page in <UTC time of the run>/, and the ledger of faces already scored (so "
    "a schedule scores only new ones) in ledger/; empty: neither (every run scores every face).",
    "fail_on_drift": "Fail the run when the batch is unhealthy (after writing every output).",
    "accept_only_healthy": "Copy faces to accepted_output only once the whole batch is healthy.",
}

_SETTINGS: contextvars.ContextVar[CompileSettings] = contextvars.ContextVar("scoring_settings")


def glasses_scoring_pipeline(
    model_registry: str,
    source: str,
    accepted_output: str = "",
    review_output: str = "",
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
    max_uncertain_share: float = defaults.MAX_UNCERTAIN_SHARE,
    max_drift: float = defaults.MAX_DRIFT,
    num_score_workers: int = defaults.NUM_SCORE_WORKERS,
    fail_on_drift: bool = False,
    accept_only_healthy: bool = False,
) -> None:
    s = _SETTINGS.get()
    # the registry's pointer moves between runs under the same name: never a cached answer
    resolved = configure(steps.resolve_model(model_registry=model_registry), s, caching=False)
    model = dsl.importer(
        artifact_uri=resolved.outputs["model"], artifact_class=dsl.Model, reimport=False
    )
    model.set_display_name("registry-model")
    fan = configure(steps.fan_out(count=num_score_workers).after(resolved), s)
    # a folder's contents change under the same name: the batch is scored afresh each run
    with dsl.ParallelFor(fan.output, name="score-workers") as index:
        part = configure(
            steps.score_new_faces(
                model=model.output, source=source, uncertain_low=uncertain_low,
                uncertain_high=uncertain_high, accepted_output=accepted_output,
                accept_only_healthy=accept_only_healthy, review_output=review_output,
                num_workers=num_score_workers, worker_index=index,
            ),
            s,
            caching=False,
        )  # fmt: skip
    merged = configure(
        steps.merge_scores(model=model.output, max_uncertain_share=max_uncertain_share,
                           max_drift=max_drift, review_output=review_output,
                           run_name=resolved.outputs["run"],
                           parts=dsl.Collected(part.outputs["predictions"])),
        s,
        caching=False,
    )  # fmt: skip
    merged.set_display_name("predictions")
    configure(steps.check_batch(healthy=merged.outputs["Output"], fail_on_drift=fail_on_drift), s)


glasses_scoring_pipeline.__doc__ = (
    "Score a new GAN batch with the registry's latest model.\n\nArgs:\n"
    + "".join(f"    {name}: {text}\n" for name, text in DESCRIPTIONS.items())
)


def build_pipeline(settings: CompileSettings | None = None) -> Any:
    """The pipeline KFP compiles and runs, with compile-time settings (the image) baked in."""
    token = _SETTINGS.set(settings or CompileSettings())
    try:
        return dsl.pipeline(name=PIPELINE_NAME, description=DESCRIPTION)(glasses_scoring_pipeline)
    finally:
        _SETTINGS.reset(token)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)
