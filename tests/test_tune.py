"""Tune: two trials per tuner kind, both search spaces, hparams round trip into train, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glasses.errors import InputError
from glasses.model.hparams import HParams
from glasses.model.train import train
from glasses.model.tune import tune

BASE = HParams(conv_blocks=2, filters=8, dense_units=16, batch_size=32)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "least_trials"), [("random", 2), ("bayesian", 2), ("hyperband", 1)]
)
def test_two_trials_per_tuner_kind(
    train_shards: Path, tmp_path: Path, kind: str, least_trials: int
) -> None:
    """random and bayesian run --max-trials trials; hyperband sizes its own brackets."""
    result = tune(
        str(train_shards), str(tmp_path), tuner=kind, search_space="architecture",
        max_trials=2, epochs=2, seed=3, hparams=BASE,
    )  # fmt: skip
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert trials["tuner"] == kind and trials["objective"] == "val_loss"
    assert len(trials["trials"]) == result.trials >= least_trials
    assert all(t["status"] == "COMPLETED" for t in trials["trials"])
    best = HParams.load(str(tmp_path / "best_hparams.json"))
    assert best == result.best
    assert result.best_score == min(t["score"] for t in trials["trials"])
    # the learning-rate schedule was not part of this search
    assert (best.learning_rate, best.decay_rate) == (BASE.learning_rate, BASE.decay_rate)


@pytest.mark.slow
def test_learning_rate_space_keeps_the_architecture_and_feeds_train(
    train_shards: Path, tmp_path: Path
) -> None:
    result = tune(
        str(train_shards), str(tmp_path / "tuning"), search_space="learning_rate",
        max_trials=2, epochs=1, hparams=BASE,
    )  # fmt: skip
    best = result.best
    architecture = ("conv_blocks", "filters", "kernel_size", "pooling", "dense_units", "dropout")
    assert all(getattr(best, f) == getattr(BASE, f) for f in architecture)
    assert best != BASE  # the schedule was drawn from the search space
    loaded = HParams.load(str(tmp_path / "tuning" / "best_hparams.json"))
    train(str(train_shards), str(tmp_path / "model"), hparams=loaded, epochs=1)
    assert HParams.load(str(tmp_path / "model" / "hparams.json")) == best


@pytest.mark.slow
def test_an_interrupted_search_resumes_from_its_finished_trials(
    train_shards: Path, tmp_path: Path
) -> None:
    tune(str(train_shards), str(tmp_path), max_trials=1, epochs=1, seed=4, hparams=BASE)
    first = json.loads((tmp_path / "trials.json").read_text())["trials"]
    assert (tmp_path / "state").is_dir()
    tune(str(train_shards), str(tmp_path), max_trials=2, epochs=1, seed=4, hparams=BASE)
    both = json.loads((tmp_path / "trials.json").read_text())["trials"]
    assert len(both) == 2
    assert both[0] == first[0]  # kept, not run again


def test_bad_arguments(tmp_path: Path) -> None:
    """Checked before any data is read."""
    shards = str(tmp_path / "shards")
    with pytest.raises(InputError, match="tuner must be one of"):
        tune(shards, str(tmp_path), tuner="grid")
    with pytest.raises(InputError, match="search_space must be one of"):
        tune(shards, str(tmp_path), search_space="everything")
    with pytest.raises(InputError, match="max_trials must be at least 1"):
        tune(shards, str(tmp_path), max_trials=0)


def test_tuner_none_hands_on_the_starting_hyperparameters(tmp_path: Path) -> None:
    """The pipeline's `tuner: none` is the command line's too: no search, no data read."""
    result = tune(str(tmp_path / "no-shards-needed"), str(tmp_path / "out"), tuner="none",
                  hparams=BASE)  # fmt: skip
    assert result.trials == 0 and result.best == BASE
    assert HParams.load(str(tmp_path / "out" / "best_hparams.json")) == BASE


def test_the_tuners_seed_never_comes_from_pythons_shared_stream() -> None:
    """Keras Tuner's oracle takes seed 0 for none and draws one from Python's random, which a
    storage retry's jitter moves: tune's seed 0 is that draw's value, made without the stream."""
    import random

    import keras

    from glasses.model.tune import tuner_seed

    keras.utils.set_random_seed(0)
    drawn = random.randint(1, 10000)  # what the oracle draws for seed 0, nothing in between
    random.random()  # a retry's jitter
    assert tuner_seed(0) == drawn and tuner_seed(7) == 7
