"""The model builder and its typed hyperparameters."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from glasses.errors import InputError
from glasses.model.hparams import HParams
from glasses.model.network import build_model


def test_the_model_draws_no_seed_from_pythons_shared_random_stream() -> None:
    """Retries jitter from Python's random in threads of their own: a draw between seeding and
    building must not change the model's weights or its random layers' seeds."""
    import random

    import keras

    hp = HParams(conv_blocks=1, filters=4, dense_units=8, augment=True, flip=True)

    def variables(draws: int, seed: int = 5) -> list[np.ndarray]:
        keras.utils.set_random_seed(3)
        for _ in range(draws):
            random.random()
        return [np.asarray(v) for v in build_model(hp, 16, seed=seed).variables]

    same, moved = variables(0), variables(7)
    assert len(same) > len(build_model(hp, 16).weights)  # the seed states are compared too
    assert all(np.array_equal(a, b) for a, b in zip(same, moved, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(same, variables(0, 6), strict=True))


def test_builder_honours_every_hyperparameter() -> None:
    import keras

    hp = HParams(
        conv_blocks=2, filters=8, kernel_size=5, pooling="average", dense_units=16,
        dropout=0.3, learning_rate=0.01, decay_rate=0.5, decay_steps=10, batch_size=4,
        drop_noisy=0.25, label_smoothing=0.2, clipnorm=2.5,
    )  # fmt: skip
    model = build_model(hp, 32)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [8, 16]
    assert all(c.kernel_size == (5, 5) and c.activation.__name__ == "relu" for c in convs)
    pools = [layer for layer in model.layers if "pool" in layer.name]
    assert all(isinstance(p, keras.layers.AveragePooling2D) for p in pools) and len(pools) == 2
    assert sum(isinstance(x, keras.layers.BatchNormalization) for x in model.layers) == 2
    assert model.get_layer("dropout").rate == 0.3
    assert model.get_layer("dense").units == 16
    assert model.get_layer("glasses").activation.__name__ == "sigmoid"
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "ExponentialDecay"
    assert schedule["config"]["initial_learning_rate"] == 0.01
    assert schedule["config"]["decay_rate"] == 0.5 and schedule["config"]["decay_steps"] == 10
    assert model.optimizer.clipnorm == 2.5
    assert build_model(dataclasses.replace(hp, clipnorm=0.0), 32).optimizer.clipnorm is None
    assert model.loss.name == "small_loss_bce" and model.loss.max_drop == 0.25
    assert model.loss.label_smoothing == 0.2
    paper = dataclasses.replace(hp, drop_noisy=0.0, label_smoothing=0.0, balance_classes=False)
    assert build_model(paper, 32).loss == "binary_crossentropy"
    assert model.input.dtype == "uint8" and model.input.shape[1:] == (32, 32, 3)
    assert isinstance(
        build_model(HParams(pooling="max"), 32).get_layer("pool1"), keras.layers.MaxPooling2D
    )


def test_augmentation_is_a_training_only_switch() -> None:
    def names(hp: HParams) -> set[str]:
        return {layer.name for layer in build_model(hp, 32).layers}

    assert "flip" in names(HParams()) and "shift" not in names(HParams())  # the default: flips
    assert {"flip", "shift"} <= names(HParams(augment=True))
    assert not {"flip", "shift"} & names(HParams(flip=False))
    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8, augment=True), 16)
    images = np.random.default_rng(1).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    first = np.asarray(model(images, training=False))
    assert np.array_equal(first, np.asarray(model(images, training=False)))  # serving: no noise
    trained = [np.asarray(model(images, training=True)) for _ in range(4)]
    assert any(not np.allclose(t, trained[0]) for t in trained[1:])  # training: random flips/shifts


def test_model_takes_uint8_images_and_returns_probabilities() -> None:
    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8), 16)
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    p = np.asarray(model(images, training=False))
    assert p.shape == (5, 1) and p.dtype == np.float32 and ((p > 0) & (p < 1)).all()


def test_too_many_blocks_for_the_image_size_is_named() -> None:
    with pytest.raises(InputError, match="need images of at least 16 px, the shards hold 8 px"):
        build_model(HParams(conv_blocks=4, filters=4, dense_units=8), 8)
    assert build_model(HParams(conv_blocks=4, filters=4, dense_units=8), 16).output.shape[1] == 1


def test_hparams_json_round_trip(tmp_path: Path) -> None:
    hp = HParams(conv_blocks=4, pooling="average", learning_rate=0.002)
    path = tmp_path / "hp.json"
    path.write_text(hp.to_json())
    assert HParams.load(str(path)) == hp
    assert json.loads(HParams().to_json())["conv_blocks"] == 4
    path.write_text('{"conv_blocks": 2, "learning_rate": 1}')  # int where float is fine
    assert HParams.load(str(path)).learning_rate == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"conv_block": 2}', "unknown hyperparameters conv_block"),
        ('{"conv_blocks": "2"}', "conv_blocks='2' should be int"),
        ('{"conv_blocks": true}', "should be int"),
        ('{"augment": 1}', "augment=1 should be bool"),
        ('{"pooling": "min"}', "pooling='min'"),
        ('{"dropout": 1.0}', "dropout=1.0"),
        ('{"clipnorm": -1}', "clipnorm=-1.0 .0 = off"),
        ('{"clipnorm": NaN}', "clipnorm=nan"),
        ('{"clipnorm": Infinity}', "clipnorm=inf"),
        ("[1, 2]", "expected a JSON object"),
        ("{", "not JSON"),
    ],
)
def test_bad_hparams_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hp.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        HParams.load(str(path))


def test_eager_probabilities_equal_keras_predict() -> None:
    """The audit's and the noise estimate's eager calls give what model.predict gives, for an
    array (in batches, the last one short) and for a dataset of (images, labels) batches."""
    import tensorflow as tf

    from glasses.model.predict import probabilities

    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8), 32)
    images = np.random.default_rng(0).integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    expected = model.predict(images, verbose=0).reshape(-1)
    np.testing.assert_allclose(probabilities(model, images, batch=32), expected, atol=1e-6)
    batches = tf.data.Dataset.from_tensor_slices((images, np.zeros(70))).batch(16)
    np.testing.assert_allclose(probabilities(model, batches), expected, atol=1e-6)
    assert probabilities(model, images[:0]).shape == (0,)


def test_class_counts_weigh_the_classes_only_when_balancing() -> None:
    small = {"conv_blocks": 1, "filters": 4, "dense_units": 8}
    balanced = build_model(HParams(**small), 16, (1, 3)).loss
    np.testing.assert_allclose(balanced.class_weight.numpy(), [2.0, 2.0 / 3.0], rtol=1e-6)
    unbalanced = build_model(HParams(**small, balance_classes=False), 16, (1, 3)).loss
    np.testing.assert_allclose(unbalanced.class_weight.numpy(), [1.0, 1.0])
