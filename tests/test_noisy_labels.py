"""The two defences against wrong labels: the small-loss cross-entropy and mixup."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from glasses.model.hparams import HParams
from glasses.model.network import build_model

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))  # quality.py's scoring


def test_small_loss_bce_leaves_out_the_largest_losses() -> None:
    from glasses.model.losses import SmallLossBCE

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


def test_label_smoothing_in_training_and_plain_loss_for_validation() -> None:
    from glasses.model.losses import SmallLossBCE

    y_true = np.array([1.0, 0.0], np.float32)
    y_pred = np.array([[0.9], [0.3]], np.float32)
    smoothed = -np.mean([0.95 * np.log(0.9) + 0.05 * np.log(0.1),
                         0.05 * np.log(0.3) + 0.95 * np.log(0.7)])  # fmt: skip
    plain = -np.mean(np.log([0.9, 0.7]))
    loss = SmallLossBCE(max_drop=0.3, label_smoothing=0.1)
    loss.set_rate(0.3)
    assert float(loss(y_true, y_pred)) == pytest.approx(smoothed, rel=1e-4)
    with loss.plain():  # what validation measures: no smoothing, nothing left out
        assert float(loss(y_true, y_pred)) == pytest.approx(plain, rel=1e-4)
    assert float(loss.rate.numpy()) == pytest.approx(0.3)  # both restored after
    assert float(loss(y_true, y_pred)) == pytest.approx(smoothed, rel=1e-4)
    only_smoothing = build_model(
        HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.0), 16
    )
    assert isinstance(only_smoothing.loss, SmallLossBCE)
    assert only_smoothing.loss.label_smoothing == pytest.approx(HParams().label_smoothing)


def test_balanced_classes_weigh_each_class_alike_after_the_trimming() -> None:
    from glasses.model.losses import SmallLossBCE

    y_true = np.array([1.0, 1.0, 1.0, 0.0], np.float32)
    y_pred = np.array([[0.9], [0.8], [0.1], [0.4]], np.float32)
    per_face = -np.log([0.9, 0.8, 0.1, 0.6])
    loss = SmallLossBCE(max_drop=0.3)
    loss.balance((1, 3))  # weights 4 / 2 = 2 and 4 / 6 = 2/3: mean weight 1
    np.testing.assert_allclose(loss.class_weight.numpy(), [2.0, 2.0 / 3.0], rtol=1e-6)
    weights = np.array([2 / 3, 2 / 3, 2 / 3, 2.0])
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean(per_face * weights), rel=1e-4)
    loss.set_rate(0.25)  # the largest loss (face 3) is left out; the others keep their weights
    kept = [0, 1, 3]
    assert float(loss(y_true, y_pred)) == pytest.approx(
        np.mean(per_face[kept] * weights[kept]), rel=1e-4
    )
    with loss.plain():  # validation: every face, unweighted
        assert float(loss(y_true, y_pred)) == pytest.approx(per_face.mean(), rel=1e-4)
    np.testing.assert_allclose(loss.class_weight.numpy(), [2.0, 2.0 / 3.0], rtol=1e-6)


def test_drop_rate_waits_for_learning_then_takes_the_smaller_estimate() -> None:
    from glasses.model.losses import drop_rate

    minority = 0.36  # learning has started once the validation error is below 0.8 * 0.36
    stuck = [0.64, 0.64, 0.65]  # the majority class's share: nothing learned yet
    assert drop_rate(3, 0.3, stuck, [0.5, 0.45, 0.4], minority, warmup=5)[0] == 0.0
    assert "not started" in drop_rate(3, 0.3, stuck, [], minority, warmup=5)[1]
    # learning starts at epoch 3 (error 0.2); the rate ramps from then on
    accuracy = [*stuck, 0.8, 0.85, 0.86, 0.87, 0.86, 0.88, 0.87]
    joint = [0.5, 0.45, 0.4, 0.2, 0.13, 0.12, 0.11, 0.15, 0.10, 0.11]
    rates = [drop_rate(e, 0.3, accuracy, joint, minority, warmup=5)[0] for e in range(4, 11)]
    # the median of the last three confident-joint estimates, below the validation error
    assert rates[0] == pytest.approx(0.2 / 5)  # error 0.2 < median(0.45, 0.4, 0.2), ramp 1/5
    assert rates[4] == pytest.approx(0.12)  # epoch 8: median(0.12, 0.11, 0.15), ramp done
    assert rates[6] == pytest.approx(0.11)  # epoch 10: median(0.15, 0.10, 0.11)
    # a low validation error bounds a confident joint that reads high; the cap bounds both
    rate, why = drop_rate(9, 0.3, [0.6, 0.95, *[0.95] * 7], [0.4] * 9, minority, warmup=5)
    assert rate == pytest.approx(0.05) and "lowest validation error" in why
    assert drop_rate(9, 0.1, [0.6, 0.7, *[0.75] * 7], [0.4] * 9, 0.4, warmup=5)[0] == 0.1


def test_confident_joint_counts_confident_contradictions_only() -> None:
    from glasses.model.losses import confident_noise

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 400)
    given = np.where(rng.random(400) < 0.12, 1 - truth, truth)
    learned = np.where(truth == 1, rng.uniform(0.75, 1.0, 400), rng.uniform(0.0, 0.25, 400))
    assert confident_noise(given, learned) == pytest.approx(np.mean(given != truth), abs=0.02)
    assert confident_noise(truth, learned) < 0.01  # clean labels
    assert confident_noise(np.ones(10), learned[:10]) == -1.0  # one class: no estimate


@pytest.mark.slow
def test_training_records_the_share_and_why_and_resumes_with_it(
    train_shards: Path, tmp_path: Path
) -> None:
    """history.json holds each epoch's share and the estimate behind it; a run killed after
    epoch 4 and resumed computes the same shares from its history as one uninterrupted run."""
    import keras

    from glasses.model.losses import drop_rate
    from glasses.model.train import train

    class Preempted(Exception):
        pass

    class StopAfterEpoch(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 3:
                raise Preempted

    hp = HParams(conv_blocks=2, filters=8, dense_units=16, batch_size=16, drop_noisy=0.3)
    out = tmp_path / "model"
    epochs = 7
    with pytest.raises(Preempted):
        train(str(train_shards), str(out), hparams=hp, epochs=epochs, patience=9,
              callbacks=[StopAfterEpoch()])  # fmt: skip
    train(str(train_shards), str(out), hparams=hp, epochs=epochs, patience=9)
    history = json.loads((out / "history.json").read_text())
    assert len(history["drop_rate"]) == len(history["noise_estimate"]) == epochs
    metadata = json.loads((train_shards / "metadata.json").read_text())
    counts = metadata["splits"]["val"]["class_counts"]
    minority = min(counts.values()) / sum(counts.values())
    expected = [
        drop_rate(e, 0.3, history["val_accuracy"], history["noise_estimate"], minority)[0]
        for e in range(epochs)
    ]
    assert history["drop_rate"] == pytest.approx(expected, abs=1e-6)
    assert max(history["drop_rate"]) > 0  # the model learned and the share rose from 0
    assert all(0 <= e <= 1 for e in history["noise_estimate"])


def test_model_with_small_loss_bce_saves_and_loads(tmp_path: object) -> None:
    import keras

    from glasses.model.losses import SmallLossBCE

    model = build_model(HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.2), 16)
    assert isinstance(model.loss, SmallLossBCE) and model.loss.max_drop == 0.2
    path = f"{tmp_path}/m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.loss, SmallLossBCE) and loaded.loss.max_drop == 0.2
    plain = HParams(conv_blocks=1, filters=4, dense_units=8, drop_noisy=0.0, label_smoothing=0.0,
                    balance_classes=False)  # fmt: skip
    assert build_model(plain, 16).loss == "binary_crossentropy"


def test_mixup_blends_each_face_mostly_with_itself() -> None:
    import tensorflow as tf

    from glasses.data.dataset import mixup

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


@pytest.mark.parametrize(
    "bad",
    [{"drop_noisy": 0.5}, {"mixup": -1.0}, {"average_epochs": 0}, {"label_smoothing": 0.5}],
)
def test_bad_noise_settings(bad: dict[str, float]) -> None:
    from glasses.errors import InputError

    with pytest.raises(InputError):
        HParams(**bad)


def flipped_faces_vs_true(shards: str, model_dir: str, truth: dict[int, int]) -> float:
    """On the training faces whose given label is wrong: the share the model calls by their
    true label (1.0: it memorised no wrong label)."""
    from glasses.data.dataset import make_dataset
    from glasses.model.predict import Predictor

    predictor = Predictor(model_dir)
    right = flipped = 0
    for batch in make_dataset(shards, "train", 256, with_ids=True):
        p = predictor.predict(batch["image"].numpy())
        ids = [int(i.decode()) for i in batch["id"].numpy()]
        for pi, i, given in zip(p, ids, batch["label"].numpy(), strict=True):
            if given >= 0 and int(given) != truth[i]:
                flipped += 1
                right += int(pi >= 0.5) == truth[i]
    return right / flipped


def default_and_plain(
    shards: Path, truth: dict[int, int], tmp_path: Path
) -> dict[str, tuple[float, float]]:
    """The default handling of wrong labels (small-loss trimming, label smoothing, flips and
    balanced classes) and the paper's plain cross-entropy, same model, seed and data, each
    measured against the true labels on the training faces whose labels were flipped (how
    many wrong labels it memorised) and on the faces neither trained on (val and test)."""
    import dataclasses

    from quality import test_split_vs_true

    from glasses.model.train import train

    default = HParams()
    plain = dataclasses.replace(
        default, drop_noisy=0.0, label_smoothing=0.0, flip=False, balance_classes=False
    )
    assert default.drop_noisy > 0 and default.label_smoothing > 0
    assert default.flip and default.balance_classes
    scores = {}
    for name, hp in (("default", default), ("plain", plain)):
        out = tmp_path / name
        train(str(shards), str(out), hparams=hp, epochs=20, patience=10, seed=0)
        scores[name] = (
            flipped_faces_vs_true(str(shards), str(out), truth),
            test_split_vs_true(str(shards), str(out), truth, ("val", "test")),
        )
    return scores


# Measured on these data with training seeds 0 and 1 (the numbers behind the margins below):
# on the flipped training faces the default calls 0.80 and 0.97 by their true label, the plain
# loss 0.62 and 0.20 (coin-toss flips), and 0.53 and 0.53 against 0.16 and 0.33 (flips where
# faces are hard). Held out (160 faces) the default leads by +0.01 and +0.09 on coin-toss
# flips; on the hard faces' flips by +0.02 and -0.005, so there only "at most three faces
# below" is asserted.


@pytest.mark.slow
def test_the_default_beats_the_plain_loss_on_planted_flips(
    noisy_shards: tuple[Path, dict[int, int]], tmp_path: Path
) -> None:
    """15 % of the labels flipped by coin toss."""
    scores = default_and_plain(*noisy_shards, tmp_path)
    (default_flipped, default_held_out), (plain_flipped, plain_held_out) = scores.values()
    assert default_flipped > plain_flipped + 0.1, scores  # memorised fewer wrong labels
    assert default_held_out > plain_held_out, scores  # and generalises better


@pytest.mark.slow
def test_the_default_beats_the_plain_loss_on_flips_where_faces_are_hard(
    instance_noisy_shards: tuple[Path, dict[int, int]], tmp_path: Path
) -> None:
    """15 % of the labels flipped where the faces are hard (synth --noise-model instance): the
    noise the real data has, where a flipped face sits near the boundary."""
    scores = default_and_plain(*instance_noisy_shards, tmp_path)
    (default_flipped, default_held_out), (plain_flipped, plain_held_out) = scores.values()
    assert default_flipped > plain_flipped + 0.1, scores
    assert default_held_out >= plain_held_out - 0.02, scores  # three faces in 160


def test_the_served_model_undoes_the_smoothing() -> None:
    """Trained on targets 0.1 and 0.9, the model's outputs are mapped back to probabilities:
    p = (q - 0.1) / 0.8, clipped; 0.5 stays 0.5, so labels do not change."""
    from glasses.model.train import SMOOTHING_FLOOR, servable

    hp = HParams(conv_blocks=1, filters=4, dense_units=8, label_smoothing=0.2)
    model = build_model(hp, 16)
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    q = np.asarray(model(images, training=False)).reshape(-1)
    served = servable(model, hp)
    p = np.asarray(served(images, training=False)).reshape(-1)
    expected = np.clip((q - 0.1) / 0.8, 0, 1) * (1 - 2 * SMOOTHING_FLOOR) + SMOOTHING_FLOOR
    np.testing.assert_allclose(p, expected, atol=1e-6)
    assert ((p >= 0.5) == (q >= 0.5)).all()
    assert served.loss == "binary_crossentropy"
    unsmoothed_hp = HParams(conv_blocks=1, filters=4, dense_units=8, label_smoothing=0.0)
    plain = build_model(unsmoothed_hp, 16)
    served_names = [layer.name for layer in servable(plain, unsmoothed_hp).layers]
    assert served_names == [layer.name for layer in plain.layers if layer.name != "flip"]
