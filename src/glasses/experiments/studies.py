"""The paper's studies as data: each configuration it ran, with the figure it reported.

The paper ran each configuration once; its numbers are here so that every table puts them
beside the mean and spread measured over seeds. Accuracies are on the given labels, as the
paper measured them; its TFRecord sizes are for one file of 450 faces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from glasses import defaults
from glasses.errors import OneOf, SettingError
from glasses.model.hparams import HParams

STUDY_NAMES = ("resolution", "batch", "models")
PROTOCOLS = OneOf(("paper", "project"))
Protocol = Annotated[str, PROTOCOLS]

# the paper's choices between studies: 64 px was its best resolution (the batch study repeats
# it there); it then chose 32 px and batches of 32 to try more models in its time
BEST_RESOLUTION = 64
CHOSEN_RESOLUTION = 32
CHOSEN_BATCH = 32
PAPER_EPOCHS = {"resolution": 20, "batch": 20, "models": 30}

# what each study's table reports, in its order; every table also has wall time and, when the
# data has its truth, test accuracy against it
METRICS = {
    "resolution": ("val_accuracy", "tfrecord_mb"),
    "batch": ("seconds", "val_accuracy"),
    "models": ("test_accuracy", "test_loss"),
}
LABELS = {
    "val_accuracy": "validation accuracy",
    "test_accuracy": "test accuracy",
    "test_loss": "test loss",
    "seconds": "training seconds",
    "tfrecord_mb": "TFRecord MB per 450 faces",
    "test_accuracy_vs_truth": "test accuracy vs truth",
}


@dataclass(frozen=True)
class Configuration:
    """One row of one of the paper's tables."""

    study: str
    name: str  # as the table names the row
    resolution: int
    batch_size: int
    search_space: str | None = None  # None: the untuned model
    paper: Mapping[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The configuration's folder name: stable across runs, so a rerun finds it."""
        return f"{self.study}-{self.name.replace(' ', '-')}"


CONFIGURATIONS: tuple[Configuration, ...] = (
    # validation accuracy after 20 epochs, untuned; TFRecord MB per 450 faces
    Configuration("resolution", "32 px", 32, CHOSEN_BATCH,
                  paper={"val_accuracy": 0.8611, "tfrecord_mb": 1.1}),
    Configuration("resolution", "64 px", 64, CHOSEN_BATCH,
                  paper={"val_accuracy": 0.8733, "tfrecord_mb": 3.6}),
    Configuration("resolution", "128 px", 128, CHOSEN_BATCH,
                  paper={"val_accuracy": 0.8444, "tfrecord_mb": 13.0}),
    # at the best resolution: training seconds and validation accuracy
    Configuration("batch", "batch 32", BEST_RESOLUTION, 32,
                  paper={"seconds": 33.4, "val_accuracy": 0.895}),
    Configuration("batch", "batch 64", BEST_RESOLUTION, 64,
                  paper={"seconds": 40.0, "val_accuracy": 0.899}),
    Configuration("batch", "batch 128", BEST_RESOLUTION, 128,
                  paper={"seconds": 34.4, "val_accuracy": 0.887}),
    # test accuracy and loss of the untuned and the two tuned models
    Configuration("models", "untuned", CHOSEN_RESOLUTION, CHOSEN_BATCH,
                  paper={"test_accuracy": 0.887, "test_loss": 0.388}),
    Configuration("models", "tuned architecture", CHOSEN_RESOLUTION, CHOSEN_BATCH,
                  "architecture", paper={"test_accuracy": 0.867, "test_loss": 0.320}),
    Configuration("models", "tuned learning rate", CHOSEN_RESOLUTION, CHOSEN_BATCH,
                  "learning_rate", paper={"test_accuracy": 0.869, "test_loss": 0.318}),
)  # fmt: skip


def parse_studies(studies: str) -> list[str]:
    """``"resolution,batch"`` -> the studies named, checked, in the paper's order."""
    names = [s.strip() for s in studies.split(",") if s.strip()]
    unknown = sorted(set(names) - set(STUDY_NAMES))
    if unknown or not names:
        raise SettingError(
            f"study: {', '.join(unknown) or 'none given'} (a comma-separated list of "
            f"{', '.join(STUDY_NAMES)})",
            "study",
        )
    return [s for s in STUDY_NAMES if s in names]


def chosen(studies: Sequence[str]) -> list[Configuration]:
    return [c for c in CONFIGURATIONS if c.study in studies]


def hparams_for(protocol: str, configuration: Configuration) -> HParams:
    """The untuned model under ``protocol`` at the configuration's batch size: ``paper`` is
    its plain cross-entropy (no trimming, smoothing, flips, class weights, clipping or weight
    averaging); ``project`` is this project's defaults."""
    PROTOCOLS.check("protocol", protocol)
    base = HParams() if protocol == "project" else HParams.paper()
    return dataclasses.replace(base, batch_size=configuration.batch_size)


def epochs_for(protocol: str, study: str, epochs: int | None) -> int:
    """``epochs`` if given; else the paper's (20, or 30 for the models), or the defaults'."""
    if epochs is not None:
        return epochs
    return PAPER_EPOCHS[study] if protocol == "paper" else defaults.EPOCHS
