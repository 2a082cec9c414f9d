"""The two defences against wrong labels: the small-loss cross-entropy and mixup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glasses.model import HParams, build_model


def test_small_loss_bce_leaves_out_the_largest_losses() -> None:
    from glasses.losses import SmallLossBCE

    y_true = np.array([1.0, 1.0, 0.0, 0.0], np.float32)
    y_pred = np.array([[0.9], [0.1], [0.2], [0.8]], np.float32)
    per_face = -np.log([0.9, 0.1, 0.8, 0.2])  # 0.105, 2.303, 0.223, 1.609
    loss = SmallLossBCE(max_drop=0.5)
    assert float(loss(y_true, y_pred)) == pytest.approx(per_face.mean(), rel=1e-4)  # starts at 0
    loss.set_rate(0.25)  # the single largest loss
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean(per_face[[0, 2, 3]]), rel=1e-4)
    loss.set_rate(0.2)  # 0.8 of a face rounds down to none
    assert float(loss(y_true, y_pred)) == pytest.approx(per_face.mean(), rel=1e-4)
    loss.set_rate(0.9)  # capped at max_drop: keep the two smallest
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean(per_face[[0, 2]]), rel=1e-4)


def test_drop_rate_ramps_then_follows_the_warmed_up_training_error() -> None:
    from glasses.losses import drop_rate

    ramp = [drop_rate(e, 0.3, None, warmup=5) for e in range(5)]
    assert ramp == pytest.approx([0.0, 0.06, 0.12, 0.18, 0.24])
    assert drop_rate(5, 0.3, 0.87, warmup=5) == pytest.approx(0.13)  # noisy labels
    assert drop_rate(9, 0.3, 0.98, warmup=5) == pytest.approx(0.02)  # clean: < 1 face in 32
    assert drop_rate(5, 0.3, 0.55, warmup=5) == 0.3  # capped
    assert drop_rate(5, 0.3, None, warmup=5) == 0.3  # no estimate: the cap


def test_training_estimates_the_share_once_and_keeps_it_across_a_resume(
    train_shards: Path, tmp_path: Path
) -> None:
    import keras

    from glasses.losses import WARMUP_EPOCHS
    from glasses.train import train

    class Preempted(Exception):
        pass

    class StopAfterEpoch(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == WARMUP_EPOCHS:
                raise Preempted

    hp = HParams(conv_blocks=2, filters=8, dense_units=16, batch_size=16, drop_noisy=0.3)
    out = tmp_path / "model"
    epochs = WARMUP_EPOCHS + 2
    with pytest.raises(Preempted):
        train(str(train_shards), str(out), hparams=hp, epochs=epochs, patience=9,
              callbacks=[StopAfterEpoch()])  # fmt: skip
    result = train(str(train_shards), str(out), hparams=hp, epochs=epochs, patience=9)
    history = json.loads((out / "history.json").read_text())
    # early stopping restarted with the resumed run: its only candidate was the last epoch
    assert result.best_val_loss == history["val_loss"][-1]
    estimate = min(0.3, 1 - history["accuracy"][WARMUP_EPOCHS - 1])
    expected = [0.3 * e / WARMUP_EPOCHS for e in range(WARMUP_EPOCHS)] + [estimate] * 2
    assert history["drop_rate"] == pytest.approx(expected, abs=1e-6)
    assert 0 < estimate < 0.3


def test_model_with_small_loss_bce_saves_and_loads(tmp_path: object) -> None:
    import keras

    from glasses.losses import SmallLossBCE

    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.2), 16)
    assert isinstance(model.loss, SmallLossBCE) and model.loss.max_drop == 0.2
    path = f"{tmp_path}/m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.loss, SmallLossBCE) and loaded.loss.max_drop == 0.2
    plain = HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.0)
    assert build_model(plain, 16).loss == "binary_crossentropy"


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


@pytest.mark.parametrize("bad", [{"drop_noisy": 0.5}, {"mixup": -1.0}, {"average_epochs": 0}])
def test_bad_noise_settings(bad: dict[str, float]) -> None:
    from glasses.errors import InputError

    with pytest.raises(InputError):
        HParams(**bad)
