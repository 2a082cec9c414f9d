"""Train: the paper's CNN on the shards, on every visible GPU, resumable after preemption.

``tf.distribute.MirroredStrategy`` replicates the model on all local GPUs (one CPU device when
there are none, with no code path of its own); the global batch is the per-replica batch times
the replicas. Keras' ``BackupAndRestore`` checkpoints every epoch into a local folder that is
mirrored, with the rest of the training state, to ``MODEL/backup`` through the storage layer
(glasses.model.backup), so a pod killed on a preemptible node resumes from its last finished
epoch when KFP retries it, instead of starting over, and ends with the same model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from glasses import defaults, storage
from glasses.artifacts import (
    EXPORT_DIR,
    HISTORY,
    HPARAMS,
    MODEL_FILE,
    TRAINING_CURVES,
    TRAINING_SUMMARY,
)
from glasses.data.dataset import make_dataset, steps_per_epoch
from glasses.data.dataset import mixup as mix_batches
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError, OneOf, at_least
from glasses.model import backup as glasses_backup
from glasses.model import reference
from glasses.model.hparams import HParams
from glasses.model.network import build_model
from glasses.pages import plots

log = logging.getLogger(__name__)

BACKUP_DIR = "backup"
# val_loss is the Keras default; under label noise val_accuracy picks better epochs, because
# validation loss punishes confident right answers on mislabelled validation faces
MONITORS = OneOf(("val_loss", "val_accuracy"))
Monitor = Annotated[str, MONITORS]


@dataclass(frozen=True)
class TrainResult:
    """What a run did; written as MODEL/training.json for the evaluation report."""

    epochs_run: int
    epoch_kept: int  # 1-based: the epoch whose (averaged) weights were saved
    resumed_from_epoch: int
    best_val_loss: float
    best_val_accuracy: float
    replicas: int
    seconds: float


@dataclass(frozen=True)
class TrainingData:
    """What one training loop trains on: the strategy's replicas and the batched datasets."""

    strategy: Any
    replicas: int
    train: Any  # tf.data.Dataset of the train split, shuffled, at the global batch
    val: Any
    resolution: int
    class_counts: tuple[int, int]  # the train split's faces without and with glasses
    val_faces: int  # how many faces val holds: one of them is early stopping's unit
    seed: int  # the model's initial weights and random layers (glasses.model.network)
    # train holds every epoch one after the other, each this many batches (a resumed run
    # skips the epochs done: glasses.model.backup); None: one epoch, reshuffled by tf.data
    steps_per_epoch: int | None = None


def seeded_strategy(seed: int) -> tuple[Any, int]:
    """Seeded MirroredStrategy over every visible GPU (mixed precision on GPU), and its
    replica count: what a training run, every tuner trial and every audit fold share."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    # same seed, data and machine: the same model (KFP's cache and the audit's resumed folds
    # rely on it); docs/figures.md says what it costs
    tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = tf.distribute.MirroredStrategy()
    replicas = int(strategy.num_replicas_in_sync)
    log.debug("%d replica(s) on %s", replicas, "GPU" if gpus else "CPU")
    return strategy, replicas


def distributed_inputs(
    data: str, batch_size: int, seed: int, mixup: float = 0.0, epochs: int | None = None
) -> TrainingData:
    """The strategy and the train and val datasets at its global batch; with ``epochs``, the
    train split as that many epochs in a resumable order (TrainingData.steps_per_epoch)."""
    metadata = read_metadata(data)
    for split in ("train", "val"):
        if metadata["splits"][split]["records"] == 0:
            raise InputError(f"{data}: the {split} split is empty; nothing to train or validate on")
    strategy, replicas = seeded_strategy(seed)
    counts = metadata["splits"]["train"]["class_counts"]
    global_batch = batch_size * replicas
    log.info("%d replica(s), global batch %d", replicas, global_batch)
    train = make_dataset(data, "train", global_batch, shuffle=True, seed=seed, epochs=epochs)
    records = int(metadata["splits"]["train"]["records"])
    if mixup:
        train = mix_batches(train, mixup, seed)
    return TrainingData(
        strategy=strategy,
        replicas=replicas,
        train=train,
        val=make_dataset(data, "val", global_batch),
        resolution=int(metadata["resolution"]),
        class_counts=(counts.get("0", 0), counts.get("1", 0)),
        val_faces=int(metadata["splits"]["val"]["records"]),
        seed=seed,
        steps_per_epoch=None if epochs is None else steps_per_epoch(records, global_batch),
    )


def _history_keeper(
    keras: Any,
    backup_local: str,
    backup_remote: str | None,
    previous: dict[str, list[float]],
    average: Any,
    stop: Any,
) -> Any:
    """The callback that keeps the whole history and, with ``backup_remote``, commits each
    epoch's backup (Keras' checkpoint and the rest of the state, glasses.model.backup) after
    every other callback has finished the epoch. Without it there is no checkpoint: a fold of
    the audit is redone whole."""

    class KeepHistory(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.history = {k: list(v) for k, v in previous.items()}

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            if backup_remote is not None:  # after early stopping reset itself
                average.window = glasses_backup.load_state(backup_local, self.model, stop)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            for key, value in (logs or {}).items():
                self.history.setdefault(key, [])[epoch:] = [float(value)]
            if backup_remote is None:
                return
            with open(os.path.join(backup_local, HISTORY), "w") as f:
                json.dump(self.history, f)
            glasses_backup.save_state(backup_local, self.model, average.window, stop)
            glasses_backup.commit(backup_local, backup_remote, epoch + 1)

    return KeepHistory()


def _epoch_log(keras: Any, epochs: int) -> Any:
    """One readable line per epoch instead of a progress bar per step."""

    class EpochLog(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            shown = " ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
            took = time.perf_counter() - self.start
            log.info("epoch %d/%d %s (%.1fs)", epoch + 1, epochs, shown, took)

    return EpochLog()


def _averaging_callbacks(keras: Any, val: Any, epochs: int) -> tuple[Any, Any]:
    """Validate the mean of the last ``epochs`` epochs' weights instead of the last weights.

    After the warm-up the weights wander: test accuracy swings by several percent from one epoch
    to the next, so which epoch early stopping happens to keep decided most of the difference
    between seeds. The mean of a few consecutive epochs (weight averaging, as in SWA; batch-norm
    statistics averaged with the rest) sits in the middle of that swing. ``average`` puts the
    mean into the model and validates it, so that early stopping, which runs next, compares and
    keeps averaged weights; ``restore`` (after early stopping) hands the last weights back to the
    optimiser, so training itself is unchanged. fit() gets no validation data of its own.
    """
    import numpy as np

    from glasses.model.losses import SmallLossBCE  # imports keras, so not at the top

    class Average(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.window: list[list[Any]] = []
            self.last: list[Any] | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.last = self.model.get_weights()
            self.window = [*self.window, self.last][-epochs:]
            if len(self.window) > 1:
                self.model.set_weights([np.mean(w, axis=0) for w in zip(*self.window, strict=True)])
            # validated with plain cross-entropy (SmallLossBCE.plain says why)
            loss = self.model.loss
            with loss.plain() if isinstance(loss, SmallLossBCE) else contextlib.nullcontext():
                scores = self.model.evaluate(val, verbose=0, return_dict=True)
            if logs is not None:
                logs.update({f"val_{name}": float(value) for name, value in scores.items()})

    average = Average()

    class Restore(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if average.last is not None and len(average.window) > 1:
                self.model.set_weights(average.last)
            average.last = None

    return average, Restore()


def _early_stopping(
    keras: Any, monitor: str, patience: int, start_from_epoch: int, val_faces: int
) -> Any:
    """Keras' EarlyStopping, keeping the best weights; on ``val_accuracy``, an epoch within one
    validation face of the best accuracy so far is better when its ``val_loss`` is lower.

    On about 200 validation faces accuracy moves in steps of one face (0.5 %), less than its
    own chance swing, and often stays on one value for many epochs: Keras alone keeps the
    first epoch of such a run, the least trained one, or an early epoch that one lucky face
    lifted above the rest, and stops while the loss still falls. Among accuracies that one
    face cannot tell apart the loss decides, and a falling loss restarts the patience. The
    best accuracy so far stays the reference, so a chain of one-face drops cannot walk it
    down."""
    one_face = 1.0 / max(val_faces, 1)

    class Stop(keras.callbacks.EarlyStopping):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(
                monitor=monitor,
                mode="max" if monitor == "val_accuracy" else "min",
                patience=patience,
                restore_best_weights=True,
                start_from_epoch=start_from_epoch,
            )
            self.loss: float | None = None
            self.best_loss: float | None = None
            self.top: float | None = None  # the best validation accuracy so far

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            super().on_train_begin(logs)
            self.top = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.loss = None if logs is None else logs.get("val_loss")
            super().on_epoch_end(epoch, logs)
            # best_epoch starts at 0, so a warm-up epoch 0 (not a candidate) would match too
            candidate = epoch >= self.start_from_epoch and logs is not None and monitor in logs
            if candidate and self.best_epoch == epoch:
                self.best_loss = self.loss
                self.top = max(float(logs[monitor]), self.top or 0.0)  # type: ignore[index]

        def _is_improvement(self, value: Any, reference: Any) -> bool:
            if monitor != "val_accuracy" or self.top is None:
                return bool(super()._is_improvement(value, reference))
            if float(value) > self.top:
                return True
            # 1e-6: accuracies are float32 fractions of the same count of faces
            near = float(value) >= self.top - one_face - 1e-6
            lower = self.loss is not None and self.best_loss is not None
            return bool(near and lower and self.loss < self.best_loss)  # type: ignore[operator]

    return Stop()


@dataclass
class Fitted:
    """A finished fit: the model holds the kept (averaged) weights."""

    model: Any
    history: dict[str, list[float]]
    epoch_kept: int  # 0-based
    resumed_from_epoch: int


def fit(
    inputs: TrainingData,
    hp: HParams,
    *,
    epochs: int,
    patience: int,
    monitor: str,
    backup: str | None = None,
    logs: str | None = None,
    callbacks: Sequence[Any] = (),
) -> Fitted:
    """The one training loop (glasses train, and each fold of glasses audit): build the model,
    fit with early stopping on ``monitor`` over weights averaged across epochs, and hand back
    the kept model. ``backup``: a folder (local or gs://) to resume from after preemption;
    ``logs``: a local folder for TensorBoard's logs."""
    import keras

    from glasses.model.losses import (  # imports keras, so not at the top
        WARMUP_EPOCHS,
        DropRateSchedule,
    )

    small_loss = hp.drop_noisy > 0
    with tempfile.TemporaryDirectory(prefix="glasses-fit-") as backup_local:
        if backup:
            glasses_backup.restore(backup, backup_local)
        previous: dict[str, list[float]] = {}
        if os.path.exists(os.path.join(backup_local, HISTORY)):
            with open(os.path.join(backup_local, HISTORY)) as f:
                previous = json.load(f)
        done = len(previous.get("loss", []))
        with inputs.strategy.scope():
            model = build_model(hp, inputs.resolution, inputs.class_counts, seed=inputs.seed)
        if hp.balance_classes:
            w = model.loss.class_weight.numpy()
            log.info("%d faces without glasses, %d with: each weighs %.2f and %.2f in the loss",
                     *inputs.class_counts, w[0], w[1])  # fmt: skip
        stop = _early_stopping(
            keras,
            monitor,
            patience,
            # with the small-loss defence, epochs before its warm-up ends are not candidates
            start_from_epoch=WARMUP_EPOCHS if small_loss else 0,
            val_faces=inputs.val_faces,
        )
        # validates the averaged weights (before early stopping compares them); ``restore``
        # (after it) hands the last weights back to the optimiser
        average, restore = _averaging_callbacks(keras, inputs.val, hp.average_epochs)
        mirror = _history_keeper(keras, backup_local, backup, previous, average, stop)
        # Keras' checkpoint first (it keeps the last weights, before averaging), the history
        # keeper after every callback that writes to the epoch's logs or state
        ours: list[Any] = []
        if backup:
            ours.append(keras.callbacks.BackupAndRestore(backup_local, delete_checkpoint=False))
        ours.append(average)
        if small_loss:  # the loss's share for each epoch, from the history kept so far
            ours.append(DropRateSchedule(model.loss, mirror.history, inputs.val))
        ours += [_epoch_log(keras, epochs), stop, restore, mirror]
        board = [keras.callbacks.TensorBoard(logs)] if logs else []
        train = inputs.train
        if inputs.steps_per_epoch and done:
            train = train.skip(done * inputs.steps_per_epoch)  # the epochs the backup holds
        # early stopping had ended the run before it was killed: no epoch more (Keras then
        # only restores the state and, at the end, early stopping's best weights)
        last = done if glasses_backup.stopped(backup_local) else epochs
        model.fit(
            train,
            epochs=last,
            steps_per_epoch=inputs.steps_per_epoch,
            callbacks=[*ours, *board, *callbacks],
            shuffle=False,  # the dataset shuffles itself
            verbose=0,
        )
    history = mirror.history
    # the epoch whose weights the model holds: EarlyStopping's own pick (it skips the warm-up; a
    # resumed run carries its state on), or the last epoch when no epoch was a candidate
    best = stop.best_epoch if stop.best_weights is not None else len(history["loss"]) - 1
    return Fitted(model, history, best, done)


def train(
    data: str,
    output: str,
    hparams: HParams | None = None,
    epochs: int = defaults.EPOCHS,
    batch_size: int | None = None,
    patience: int = defaults.PATIENCE,
    seed: int = defaults.SEED,
    callbacks: Sequence[Any] = (),
    monitor: Monitor = defaults.MONITOR,
) -> TrainResult:
    """Train on ``data``'s train split, early-stop on its val split, write the model to ``output``.

    ``callbacks`` are extra Keras callbacks (run after ours), for callers that want to watch.
    """
    hp = check_settings(hparams, epochs, patience, monitor, batch_size)
    start = time.perf_counter()
    inputs = distributed_inputs(data, hp.batch_size, seed, hp.mixup, epochs=epochs)
    backup = storage.join(output, BACKUP_DIR)
    with tempfile.TemporaryDirectory(prefix="glasses-train-") as work:
        fitted = fit(
            inputs, hp, epochs=epochs, patience=patience, monitor=monitor, backup=backup,
            logs=os.path.join(work, "out", "logs"), callbacks=callbacks,
        )  # fmt: skip
        _write_outputs(fitted.model, hp, fitted.history, work, output)
    storage.delete_tree(backup)  # finished: a rerun starts afresh
    history, best = fitted.history, fitted.epoch_kept
    result = TrainResult(
        epochs_run=len(history["loss"]),
        epoch_kept=best + 1,
        resumed_from_epoch=fitted.resumed_from_epoch,
        best_val_loss=history["val_loss"][best],
        best_val_accuracy=history["val_accuracy"][best],
        replicas=inputs.replicas,
        seconds=time.perf_counter() - start,
    )
    summary = {**dataclasses.asdict(result), "monitor": monitor, "patience": patience}
    storage.write_text(storage.join(output, TRAINING_SUMMARY), json.dumps(summary, indent=1) + "\n")
    reference.write_reference(output, data)  # what normal looks like, for the batch report
    return result


def check_settings(
    hparams: HParams | None, epochs: int, patience: int, monitor: str, batch_size: int | None
) -> HParams:
    """The hyperparameters to train with, after checking the loop's settings."""
    MONITORS.check("monitor", monitor)
    at_least("epochs", epochs, 1)
    at_least("patience", patience, 0)
    if batch_size is not None:
        at_least("batch_size", batch_size, 1)
    hp = hparams or HParams()
    if batch_size is not None:
        hp = dataclasses.replace(hp, batch_size=batch_size)
    return hp


def servable(model: Any, hp: HParams) -> Any:
    """The trained weights in the same network without its training devices, compiled with
    plain binary cross-entropy.

    Leaving noisy faces out of the loss is a training device; saved with it, model.keras would
    name glasses' loss class and fail to load in plain Keras (``keras.models.load_model``)
    anywhere this package is not installed. Random flips and shifts are another: Keras'
    SavedModel export of a model holding them served other probabilities than the model
    itself (tested). The copy is built outside any distribution strategy, with a fresh
    optimizer: a finished model is for inference and evaluation, and an interrupted run
    resumes from its backup, not from model.keras.
    """
    plain = dataclasses.replace(
        hp, drop_noisy=0.0, label_smoothing=0.0, balance_classes=False, flip=False, augment=False
    )
    if plain == hp:
        return model
    copy = build_model(plain, int(model.input_shape[1]))
    for layer in copy.layers:  # by name: the copy lacks the random layers (and their seeds)
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    if not hp.label_smoothing:
        return copy
    return unsmoothed(copy, hp.label_smoothing)


SMOOTHING_FLOOR = 1e-4  # served probabilities stay in [floor, 1 - floor]: finite log loss


def unsmoothed(model: Any, smoothing: float) -> Any:
    """``model`` followed by the inverse of label smoothing, as plain Keras layers.

    Trained on targets s/2 and 1 - s/2, a model learns q = (1 - s) p + s/2 for a face whose
    probability of glasses is p, so its outputs gather near s/2 and 1 - s/2, and
    read as probabilities they are badly calibrated. p = (q - s/2) / (1 - s), clipped, is what
    is served: 0.5 stays 0.5 (the same labels), and the uncertain band and the calibration
    error mean what they did before smoothing.
    """
    import keras
    from keras import layers

    q = model.output
    p = layers.Rescaling(
        1.0 / (1.0 - smoothing), offset=-smoothing / 2 / (1.0 - smoothing), dtype="float32",
        name="unsmooth",
    )(q)  # fmt: skip
    p = layers.ReLU(max_value=1.0, dtype="float32", name="clip")(p)
    p = layers.Rescaling(
        1.0 - 2 * SMOOTHING_FLOOR, offset=SMOOTHING_FLOOR, dtype="float32", name="glasses_p"
    )(p)
    served = keras.Model(model.input, p, name=model.name)
    served.compile(optimizer=model.optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return served


def _write_outputs(
    model: Any, hp: HParams, history: dict[str, list[float]], work: str, output: str
) -> None:
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    served = servable(model, hp)
    served.save(os.path.join(out, MODEL_FILE))
    served.export(os.path.join(out, EXPORT_DIR), format="tf_saved_model", verbose=False)
    with open(os.path.join(out, HISTORY), "w") as f:
        json.dump(history, f, indent=1)
    with open(os.path.join(out, HPARAMS), "w") as f:
        f.write(hp.to_json())
    with open(os.path.join(out, TRAINING_CURVES), "wb") as f:
        f.write(plots.training_curves(history))
    storage.copy_tree(out, output)
