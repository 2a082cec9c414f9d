"""Tune: Keras Tuner over the paper's two search spaces, resumable, writing plain HParams.

``architecture`` tunes the network on a fixed learning-rate schedule and ``learning_rate`` tunes
only the schedule on the default network: the paper's two experiments. ``all`` tunes both.
The winner is written as the same ``HParams`` JSON that ``glasses train --hparams`` reads.

The tuner's own state (oracle and trials) lives in a local folder that is mirrored to
``TUNING/state`` after every trial, so a search stopped half way continues from its completed
trials when run again instead of starting over.

Trials train on the cross-entropy with the base's label smoothing, flips, class balance and
gradient clipping, but nothing left out (the small-loss share stays 0: no warm-up schedule
runs in a trial) and without weight averaging, so every trial's val_loss is the same untrimmed
measure of the last weights; the winner's ``drop_noisy``, ``label_smoothing`` and
``average_epochs`` are handed on unchanged and apply in ``glasses train``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Annotated, Any

from glasses import defaults, storage
from glasses.artifacts import BEST_HPARAMS, TRIALS
from glasses.errors import InputError, OneOf, at_least
from glasses.model.hparams import HParams
from glasses.model.network import build_model
from glasses.model.train import distributed_inputs

log = logging.getLogger(__name__)

NO_TUNER = "none"  # searches nothing: hands on the starting hyperparameters
TUNERS = OneOf(("random", "hyperband", "bayesian", NO_TUNER))
SEARCH_SPACES = OneOf(("architecture", "learning_rate", "all"))
Tuner = Annotated[str, TUNERS]
SearchSpace = Annotated[str, SEARCH_SPACES]
STATE_DIR = "state"
PROJECT = "glasses"


def sample_hparams(hp: Any, search_space: str, base: HParams) -> HParams:
    """Draw an HParams from a keras_tuner ``HyperParameters`` for the chosen space."""
    values: dict[str, Any] = {}
    if search_space in ("architecture", "all"):
        values.update(
            conv_blocks=hp.Int("conv_blocks", 2, 4),
            filters=hp.Choice("filters", [16, 32, 64]),
            kernel_size=hp.Choice("kernel_size", [3, 5]),
            pooling=hp.Choice("pooling", ["max", "average"]),
            dense_units=hp.Choice("dense_units", [64, 128, 256]),
            dropout=hp.Float("dropout", 0.2, 0.6, step=0.1),
        )
    if search_space in ("learning_rate", "all"):
        values.update(
            learning_rate=hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
            decay_rate=hp.Float("decay_rate", 0.8, 0.99),
            decay_steps=hp.Choice("decay_steps", [100, 250, 500, 1000, 2000]),
        )
    return dataclasses.replace(base, **values)


@dataclass(frozen=True)
class TuneResult:
    best: HParams
    best_score: float
    trials: int
    seconds: float


def tune(
    data: str,
    output: str,
    tuner: Tuner = defaults.TUNER,
    search_space: SearchSpace = defaults.SEARCH_SPACE,
    max_trials: int = defaults.MAX_TRIALS,
    epochs: int = defaults.TUNE_EPOCHS,
    patience: int = defaults.TUNE_PATIENCE,
    seed: int = defaults.SEED,
    hparams: HParams | None = None,
) -> TuneResult:
    """Search, then write ``output``/best_hparams.json and ``output``/trials.json. ``hparams``
    (the defaults unless given) are where the search starts and what it does not search. Tuner
    ``none`` searches nothing and hands them on: the pipeline's way to skip tuning, the same on
    the command line."""
    TUNERS.check("tuner", tuner)
    SEARCH_SPACES.check("search_space", search_space)
    at_least("max_trials", max_trials, 1)
    at_least("epochs", epochs, 1)
    base = hparams or HParams()
    start = time.perf_counter()
    if tuner == NO_TUNER:
        storage.write_text(storage.join(output, BEST_HPARAMS), base.to_json())
        return TuneResult(base, float("nan"), 0, time.perf_counter() - start)
    inputs = distributed_inputs(data, base.batch_size, seed, base.mixup)

    import keras
    import keras_tuner as kt

    state_remote = storage.join(output, STATE_DIR)
    with storage.working_copy(state_remote, "glasses-tune-") as work:
        if os.listdir(work):
            log.info("tune: resuming the search from %s", state_remote)
        search = _make_tuner(
            kt,
            tuner,
            search_space,
            base,
            inputs.resolution,
            max_trials,
            epochs,
            seed,
            work,
            state_remote,
            inputs.strategy,
            inputs.class_counts,
        )

        class EpochLog(keras.callbacks.Callback):  # type: ignore[misc]
            """A line per epoch, so a long trial is not silent."""

            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                shown = " ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
                log.info("tune: trial %s epoch %d/%d %s", search.trial_id, epoch + 1, epochs,
                         shown)  # fmt: skip

        search.search(
            inputs.train,
            validation_data=inputs.val,
            epochs=epochs,
            callbacks=[
                keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
                EpochLog(),
            ],
            shuffle=False,  # the dataset shuffles itself
            verbose=0,
        )
        trials = [
            {
                "trial_id": t.trial_id,
                "hyperparameters": t.hyperparameters.values,
                "score": t.score,
                "status": t.status,
            }
            for t in sorted(search.oracle.trials.values(), key=lambda t: t.trial_id)
        ]
        scores = [t["score"] for t in trials if t["score"] is not None]
        if not scores:
            raise InputError(f"tune: none of {len(trials)} trials finished; see the log above")
        best_score = min(scores)
        best = sample_hparams(search.get_best_hyperparameters(1)[0], search_space, base)
    storage.write_text(storage.join(output, BEST_HPARAMS), best.to_json())
    document = {
        "tuner": tuner,
        "search_space": search_space,
        "objective": "val_loss",
        "epochs_per_trial": epochs,
        "trials": trials,
    }
    storage.write_text(storage.join(output, TRIALS), json.dumps(document, indent=2) + "\n")
    return TuneResult(best, best_score, len(trials), time.perf_counter() - start)


def tuner_seed(seed: int) -> int:
    """Keras Tuner takes a seed of 0 for none and draws one from Python's shared ``random``,
    which the storage client's retries draw from too (glasses.storage): seed 0 is given the
    value it drew after ``set_random_seed(0)`` with no retry in between, so it keeps the
    searches it gave and no retry can change them."""
    return seed or random.Random(seed).randint(1, 10000)


def _make_tuner(
    kt: Any,
    kind: str,
    search_space: str,
    base: HParams,
    resolution: int,
    max_trials: int,
    epochs: int,
    seed: int,
    work: str,
    state_remote: str,
    strategy: Any,
    class_counts: tuple[int, int],
) -> Any:
    base_class: Any = {
        "random": kt.RandomSearch,
        "hyperband": kt.Hyperband,
        "bayesian": kt.BayesianOptimization,
    }[kind]

    class MirroredTuner(base_class):  # type: ignore[misc]
        """Mirrors the search state to object storage after every finished trial."""

        trial_id = ""

        def on_trial_begin(self, trial: Any) -> None:
            super().on_trial_begin(trial)
            self.trial_id = trial.trial_id

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            score = "n/a" if trial.score is None else f"{trial.score:.4f}"
            log.info(
                "tune: trial %s %s, val_loss %s, %s",
                trial.trial_id,
                trial.status.lower(),
                score,
                {k: round(v, 4) if isinstance(v, float) else v
                 for k, v in trial.hyperparameters.values.items()},
            )  # fmt: skip
            storage.copy_tree(work, state_remote)

    def hypermodel(hp: Any) -> Any:
        # every trial starts from the same seeds: trials differ by their hyperparameters only
        return build_model(
            sample_hparams(hp, search_space, base), resolution, class_counts, seed=seed
        )

    common = {
        "hypermodel": hypermodel,
        "objective": "val_loss",
        "seed": tuner_seed(seed),
        "directory": work,
        "project_name": PROJECT,
        "overwrite": False,
        "distribution_strategy": strategy,
    }
    if kind == "hyperband":
        # Hyperband sizes its own brackets from max_epochs; --max-trials does not apply
        return MirroredTuner(max_epochs=epochs, factor=3, **common)
    return MirroredTuner(max_trials=max_trials, **common)
