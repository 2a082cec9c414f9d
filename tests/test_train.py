"""Train on real shards: it learns, writes every output, resumes after an interruption, and
works on gs://."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glasses import storage
from glasses.data.dataset import make_dataset
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError
from glasses.model.hparams import HParams
from glasses.model.train import train

SMALL = HParams(
    conv_blocks=2, filters=16, dense_units=32, dropout=0.3, batch_size=16, augment=False
)


def accuracy(model: object, shards: Path, split: str) -> float:
    hits = total = 0
    for images, labels in make_dataset(str(shards), split, 64):
        p = np.asarray(model(images, training=False)).reshape(-1)  # type: ignore[operator]
        hits += int(((p >= 0.5) == (labels.numpy() == 1)).sum())
        total += len(p)
    return hits / total


@pytest.fixture(scope="module")
def trained(trained_model: Path) -> tuple[Path, dict]:
    """The session's trained model (conftest) and its history."""
    return trained_model, json.loads((trained_model / "history.json").read_text())


@pytest.mark.slow
def test_a_short_run_learns_something_real(
    train_shards: Path, trained: tuple[Path, object]
) -> None:
    import keras

    out, _ = trained
    model = keras.models.load_model(out / "model.keras")
    classes = read_metadata(str(train_shards))["splits"]["test"]["class_counts"]
    majority = max(classes.values()) / sum(classes.values())
    assert accuracy(model, train_shards, "test") > majority + 0.15


@pytest.mark.slow
def test_every_output_is_written(train_shards: Path, trained: tuple[Path, dict]) -> None:
    import tensorflow as tf

    out, result = trained
    assert 1 <= len(result["loss"]) <= 8  # type: ignore[index]
    assert sorted(p.name for p in out.iterdir()) == [
        "export", "history.json", "hparams.json", "logs", "model.keras", "reference.json",
        "training.json", "training_curves.png",
    ]  # fmt: skip
    history = json.loads((out / "history.json").read_text())
    assert all(len(v) == len(history["loss"]) for v in history.values())
    assert {"accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert HParams.load(str(out / "hparams.json")) == SMALL
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((out / "logs").rglob("events.out.tfevents.*"))
    served = tf.saved_model.load(str(out / "export"))
    images = np.zeros((3, 64, 64, 3), np.uint8)
    p = served.serve(tf.constant(images)).numpy()
    assert p.shape == (3, 1) and ((p >= 0) & (p <= 1)).all()


class Interrupt(Exception):
    pass


@pytest.mark.slow
def test_an_interrupted_run_resumes_where_it_stopped(train_shards: Path, tmp_path: Path) -> None:
    import keras

    class StopAfterEpoch2(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 1:
                raise Interrupt("node preempted")

    out = tmp_path / "model"
    with pytest.raises(Interrupt):
        train(
            str(train_shards),
            str(out),
            hparams=SMALL,
            epochs=4,
            patience=10,
            callbacks=[StopAfterEpoch2()],
        )
    latest = json.loads((out / "backup" / "latest.json").read_text())
    assert latest == {"epochs_done": 2}  # the commit names the last epoch mirrored whole
    assert sorted(p.name for p in (out / "backup").iterdir()) == ["epoch-0002", "latest.json"]
    backup = json.loads((out / "backup" / "epoch-0002" / "history.json").read_text())
    assert len(backup["loss"]) == 2 and not (out / "model.keras").exists()

    result = train(str(train_shards), str(out), hparams=SMALL, epochs=4, patience=10)
    assert result.resumed_from_epoch == 2 and result.epochs_run == 4
    history = json.loads((out / "history.json").read_text())
    assert history["loss"][:2] == backup["loss"]
    assert history["loss"][2] < backup["loss"][0]  # continued training, not a fresh start
    assert not (out / "backup").exists()  # a finished run leaves no checkpoint to resume


@pytest.mark.slow
def test_train_on_gcs(train_shards: Path, gcs_root: str) -> None:
    data = storage.join(gcs_root, "shards")
    storage.copy_tree(str(train_shards), data)
    out = storage.join(gcs_root, "model")
    result = train(data, out, hparams=SMALL, epochs=1)
    assert result.epochs_run == 1
    names = {storage.relative(f.uri, out) for f in storage.list_files(out)}
    assert {"model.keras", "history.json", "hparams.json", "training_curves.png"} <= names
    assert any(n.startswith("export/") for n in names)
    assert not any(n.startswith("backup/") for n in names)


def test_bad_arguments(tmp_path: Path) -> None:
    """Checked before any data is read."""
    shards = str(tmp_path / "shards")
    with pytest.raises(InputError, match="monitor must be one of val_loss, val_accuracy"):
        train(shards, str(tmp_path), monitor="accuracy")
    with pytest.raises(InputError, match="epochs must be at least 1, got 0"):
        train(shards, str(tmp_path), epochs=0)
    with pytest.raises(InputError, match=r"metadata\.json not found"):
        train(str(tmp_path), str(tmp_path / "m"))


@pytest.mark.slow
def test_the_kept_model_is_the_mean_of_the_last_epochs_weights(
    train_shards: Path, tmp_path: Path
) -> None:
    """Early stopping keeps the best *averaged* weights; training itself runs on the last ones
    (the callbacks after ours see them)."""
    import dataclasses

    import keras

    seen: list[list[np.ndarray]] = []

    class Record(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seen.append(self.model.get_weights())

    hp = dataclasses.replace(SMALL, drop_noisy=0.0, average_epochs=3)
    out = tmp_path / "model"
    train(str(train_shards), str(out), hparams=hp, epochs=4, patience=10, callbacks=[Record()])
    history = json.loads((out / "history.json").read_text())
    best = int(np.argmin(history["val_loss"]))
    assert best >= 1  # so that the window holds more than one epoch
    window = seen[max(0, best - 2) : best + 1]
    expected = [np.mean(w, axis=0) for w in zip(*window, strict=True)]
    kept = keras.models.load_model(out / "model.keras").get_weights()
    assert len(kept) == len(expected)
    for k, e in zip(kept, expected, strict=True):
        np.testing.assert_allclose(k, e, rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(seen[-1], seen[-2], strict=True))


_PLAIN_KERAS = """
import json, sys
import numpy as np, keras, tensorflow as tf
model = keras.models.load_model(sys.argv[1])  # compiled, as a user of plain Keras loads it
images = np.stack([np.full((64, 64, 3), v, np.uint8) for v in (0, 90, 255)]
                  + [np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)])
from_keras = model.predict(images, verbose=0).reshape(-1)
exported = tf.saved_model.load(sys.argv[2])  # kept: its variables live as long as it does
from_export = exported.serve(tf.constant(images)).numpy().reshape(-1)
imported = sorted(m for m in sys.modules if m == "glasses" or m.startswith("glasses."))
print(json.dumps({"keras": from_keras.tolist(), "export": from_export.tolist(),
                  "loss": str(model.loss), "imported": imported}))
"""


@pytest.mark.slow
def test_saved_models_load_where_glasses_is_not_imported(
    trained: tuple[Path, dict], tmp_path: Path
) -> None:
    """model.keras in plain Keras and the SavedModel with uint8 images, in a fresh interpreter
    that never imports this package (trained with the defaults: small-loss trimming, smoothing,
    random flips); the export serves what the model does."""
    import subprocess
    import sys

    out, _ = trained
    assert HParams.load(str(out / "hparams.json")).drop_noisy > 0
    result = subprocess.run(
        [sys.executable, "-c", _PLAIN_KERAS, str(out / "model.keras"), str(out / "export")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["imported"] == [] and loaded["loss"] == "binary_crossentropy"
    np.testing.assert_allclose(loaded["keras"], loaded["export"], atol=1e-6)
    from glasses.model.predict import Predictor

    images = np.stack(
        [np.full((64, 64, 3), v, np.uint8) for v in (0, 90, 255)]
        + [np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)]
    )
    ours = Predictor(str(out)).predict(images)
    np.testing.assert_allclose(loaded["keras"], ours, atol=1e-6)


def test_models_saved_with_the_training_loss_still_score(tmp_path: Path) -> None:
    """Models from before the plain-loss save name glasses' loss in model.keras; evaluate and
    score load with compile=False, so they keep working."""
    from glasses.model.network import build_model
    from glasses.model.predict import Predictor

    model = build_model(dataclasses_replace(SMALL, drop_noisy=0.2), 64)
    (tmp_path / "old").mkdir()
    model.save(tmp_path / "old" / "model.keras")
    assert "SmallLossBCE" in zip_text(tmp_path / "old" / "model.keras")
    images = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        Predictor(str(tmp_path / "old")).predict(images),
        np.asarray(model(images, training=False)).reshape(-1),
        atol=1e-6,
    )


def dataclasses_replace(hp: HParams, **changes: object) -> HParams:
    import dataclasses

    return dataclasses.replace(hp, **changes)  # type: ignore[arg-type]


def zip_text(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.read("config.json").decode()


@pytest.mark.slow
def test_the_same_seed_gives_the_same_model(train_shards: Path, tmp_path: Path) -> None:
    """Same seed, data and machine: the same weights, random flips and small-loss trimming
    included (KFP's cache and the audit's resumed folds rely on it); another seed differs."""
    import dataclasses

    import keras

    hp = dataclasses.replace(SMALL, flip=True, drop_noisy=0.3, label_smoothing=0.3)
    weights = {}
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        train(str(train_shards), str(tmp_path / name), hparams=hp, epochs=2, patience=5, seed=seed)
        weights[name] = keras.models.load_model(tmp_path / name / "model.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights["a"], weights["b"], strict=True))
    assert not all(np.allclose(a, c) for a, c in zip(weights["a"], weights["c"], strict=True))


def _stop_on(
    monitor: str, val_faces: int, epochs: list[tuple[float, float]], start_from_epoch: int = 0
) -> Any:
    import keras

    from glasses.model.train import _early_stopping

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    stop = _early_stopping(
        keras, monitor, patience=2, start_from_epoch=start_from_epoch, val_faces=val_faces
    )
    stop.set_model(model)
    stop.on_train_begin()
    for epoch, (accuracy, loss) in enumerate(epochs):
        stop.on_epoch_end(epoch, {"val_accuracy": accuracy, "val_loss": loss})
    return stop


@pytest.mark.parametrize(
    ("monitor", "val_faces", "kept", "stopped"),
    [("val_accuracy", 1000, 2, 4), ("val_accuracy", 100, 4, 0), ("val_loss", 1000, 4, 0)],
)
def test_early_stopping_lets_the_loss_decide_within_one_validation_face(
    monitor: str, val_faces: int, kept: int, stopped: int
) -> None:
    """Validation accuracy moves in steps of one face and often stays put for epochs: among
    accuracies within one face of the best the lower loss is kept (Keras alone keeps the
    first), and a falling loss keeps training going."""
    epochs = [(0.90, 0.50), (0.95, 0.40), (0.95, 0.30), (0.95, 0.35), (0.94, 0.20)]
    stop = _stop_on(monitor, val_faces, epochs)
    assert stop.best_epoch == kept
    # Keras alone keeps epoch 1 and stops at epoch 3 (patience 2) on val_accuracy; with 1000
    # faces 0.94 is ten faces below the best, with 100 it is one
    assert stop.stopped_epoch == stopped


def test_early_stopping_measures_from_the_best_accuracy_not_the_kept_one() -> None:
    """One-face steps down with ever lower losses must not walk the kept epoch down."""
    epochs = [(0.95, 0.40), (0.94, 0.30), (0.93, 0.20), (0.92, 0.10)]
    assert _stop_on("val_accuracy", 100, epochs).best_epoch == 1


def test_early_stopping_ignores_warm_up_epochs() -> None:
    """An epoch before ``start_from_epoch`` is no candidate, so its accuracy is no yardstick:
    a better later epoch is kept even when a warm-up epoch scored higher still."""
    epochs = [(0.95, 0.10), (0.90, 0.50), (0.91, 0.60)]
    assert _stop_on("val_accuracy", 100, epochs, start_from_epoch=1).best_epoch == 2
