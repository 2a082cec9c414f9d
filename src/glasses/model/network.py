"""The paper's CNN, built from one HParams.

Blocks of Conv2D + ReLU -> pooling -> BatchNormalization, then dropout, a dense layer and one
sigmoid unit; binary cross-entropy (over the faces whose labels look right, once warmed up:
``glasses.model.losses``); Adam on an exponentially decaying learning rate. Pixel
scaling is the model's first layer, so a saved model takes uint8 images exactly as the shards
(and ``glasses.data.images.decode_and_resize``) hold them.

Every initializer and random layer takes its seed from ``build_model``'s own: Keras would
otherwise draw them from Python's shared ``random`` stream, which any thread may advance (the
storage client's background threads jitter their retries with it), and the same seed would
stop giving the same model.
"""

from __future__ import annotations

import random
from typing import Any

from glasses import defaults
from glasses.errors import InputError
from glasses.model.hparams import HParams


def build_model(
    hp: HParams,
    resolution: int,
    class_counts: tuple[int, int] | None = None,
    *,
    seed: int = defaults.SEED,
) -> Any:
    """A compiled Keras model for ``resolution``-pixel uint8 RGB images. ``class_counts``
    (faces without, with glasses) weigh the classes alike when ``hp.balance_classes``."""
    import keras
    from keras import layers

    seeds = random.Random(seed)  # this model's alone (module docstring)

    def next_seed() -> int:
        return seeds.randint(1, 10**9)

    def kernel() -> Any:
        return keras.initializers.GlorotUniform(seed=next_seed())

    if resolution < 2**hp.conv_blocks:
        # each block halves the image; Keras would fail deep inside a pooling layer
        raise InputError(
            f"{hp.conv_blocks} conv blocks halve the image {hp.conv_blocks} times: they need "
            f"images of at least {2**hp.conv_blocks} px, the shards hold {resolution} px "
            "(shard at a larger --resolution or use fewer conv_blocks)"
        )
    pool = layers.MaxPooling2D if hp.pooling == "max" else layers.AveragePooling2D
    inputs = keras.Input((resolution, resolution, 3), dtype="uint8", name="image")
    x = layers.Rescaling(1.0 / 255, name="scale")(inputs)
    # both active in training only: Keras' random layers pass images through when serving
    if hp.flip:
        x = layers.RandomFlip("horizontal", seed=next_seed(), name="flip")(x)
    if hp.augment:
        x = layers.RandomTranslation(
            0.05, 0.05, fill_mode="nearest", seed=next_seed(), name="shift"
        )(x)
    for block in range(hp.conv_blocks):
        x = layers.Conv2D(
            hp.filters * 2**block,
            hp.kernel_size,
            padding="same",
            activation="relu",
            kernel_initializer=kernel(),
            name=f"conv{block + 1}",
        )(x)
        x = pool(2, name=f"pool{block + 1}")(x)
        # momentum 0.9, not 0.99: with ~100 steps an epoch the moving statistics must settle
        # within an epoch, or validation sees a constant model while training looks fine
        x = layers.BatchNormalization(momentum=0.9, name=f"norm{block + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(hp.dropout, seed=next_seed(), name="dropout")(x)
    x = layers.Dense(hp.dense_units, activation="relu", kernel_initializer=kernel(), name="dense")(
        x
    )
    # float32 output even under mixed precision: a sigmoid in float16 saturates early
    outputs = layers.Dense(
        1, activation="sigmoid", dtype="float32", kernel_initializer=kernel(), name="glasses"
    )(x)
    model = keras.Model(inputs, outputs, name="glasses_cnn")
    schedule = keras.optimizers.schedules.ExponentialDecay(
        hp.learning_rate, decay_steps=hp.decay_steps, decay_rate=hp.decay_rate
    )
    loss: Any = "binary_crossentropy"
    if hp.drop_noisy or hp.label_smoothing or hp.balance_classes:
        from glasses.model.losses import SmallLossBCE

        loss = SmallLossBCE(max_drop=hp.drop_noisy, label_smoothing=hp.label_smoothing)
        if hp.balance_classes and class_counts is not None:
            loss.balance(class_counts)
    optimizer = keras.optimizers.Adam(schedule, clipnorm=hp.clipnorm or None)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model
