"""The two defences against wrong labels: the small-loss cross-entropy and mixup."""

from __future__ import annotations

import numpy as np
import pytest

from glasses.model import HParams, build_model


def test_small_loss_bce_leaves_out_the_largest_losses() -> None:
    from glasses.losses import SmallLossBCE

    y_true = np.array([1.0, 1.0, 0.0, 0.0], np.float32)
    y_pred = np.array([[0.9], [0.1], [0.2], [0.8]], np.float32)
    per_face = -np.log([0.9, 0.1, 0.8, 0.2])  # 0.105, 2.303, 0.223, 1.609
    loss = SmallLossBCE(max_drop=0.5, warmup_epochs=4)
    loss.set_epoch(0)  # warm-up starts with every face counted
    assert float(loss(y_true, y_pred)) == pytest.approx(per_face.mean(), rel=1e-4)
    loss.set_epoch(2)  # half way: drop 25 % = the single largest loss
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean(per_face[[0, 2, 3]]), rel=1e-4)
    loss.set_epoch(9)  # after warm-up: drop 50 %, keep the two smallest
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean(per_face[[0, 2]]), rel=1e-4)


def test_model_with_small_loss_bce_saves_and_loads(tmp_path: object) -> None:
    import keras

    from glasses.losses import SmallLossBCE

    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.2), 16)
    assert isinstance(model.loss, SmallLossBCE) and model.loss.max_drop == 0.2
    path = f"{tmp_path}/m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.loss, SmallLossBCE) and loaded.loss.max_drop == 0.2
    assert build_model(HParams(conv_blocks=1, filters=4, dense_units=8), 16).loss == (
        "binary_crossentropy"
    )


def test_mixup_blends_each_face_mostly_with_itself() -> None:
    import tensorflow as tf

    from glasses.dataset import mixup

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    labels = (rng.random(64) < 0.5).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
    mixed = list(mixup(batches, alpha=0.4, seed=1))
    assert len(mixed) == 4
    x = np.concatenate([b[0].numpy() for b in mixed])
    y = np.concatenate([b[1].numpy() for b in mixed])
    assert x.dtype == np.uint8 and x.shape == images.shape
    assert np.all(np.abs(y - labels) <= 0.5 + 1e-6)  # lambda >= 0.5: the own label dominates
    assert np.mean((y > 0) & (y < 1)) > 0  # some faces were really blended
    assert not np.array_equal(x, images)


@pytest.mark.parametrize("bad", [{"drop_noisy": 0.5}, {"mixup": -1.0}])
def test_bad_noise_settings(bad: dict[str, float]) -> None:
    from glasses.errors import InputError

    with pytest.raises(InputError):
        HParams(**bad)
