"""Binary cross-entropy that leaves out the faces whose labels look wrong, once warmed up.

With a share of the labels wrong, a CNN first learns what is common to most faces and only
later memorises the wrong labels, one by one. Those mislabelled faces are the ones with the
largest loss, so leaving the largest ``rate`` share of each batch out of the loss (the
"small-loss trick" of Co-teaching, Han et al. 2018) trains on clean-looking faces only.

The share must match the data: leaving out 20 % of clean faces means the hardest real ones
(hair-thin frames) are never learned. So the share ramps from 0 towards ``max_drop`` over a
warm-up, and from then on is the share of training faces the warmed-up model still
contradicts (its training error in the last warm-up epoch), capped at ``max_drop``: about the
noise rate on noisy labels (it reads a little high: dropout is on while it is measured), a few
percent on clean ones (0-3 faces of a batch of 32).
"""

from __future__ import annotations

import logging
from typing import Any

import keras
from keras import ops

log = logging.getLogger(__name__)

# epochs over which the dropped share ramps up; early stopping waits for them (glasses.train)
WARMUP_EPOCHS = 5


def drop_rate(
    epoch: int, max_drop: float, warmup_accuracy: float | None, warmup: int = WARMUP_EPOCHS
) -> float:
    """The share of each batch left out in ``epoch`` (0-based): a ramp during the warm-up, then
    the training error at the warm-up's last epoch (``1 - warmup_accuracy``), capped."""
    if epoch < warmup:
        return max_drop * epoch / warmup
    if warmup_accuracy is None:
        return max_drop
    return min(max_drop, max(0.0, 1.0 - warmup_accuracy))


@keras.saving.register_keras_serializable(package="glasses")
class SmallLossBCE(keras.losses.Loss):  # type: ignore[misc]
    def __init__(self, max_drop: float = 0.3, name: str = "small_loss_bce") -> None:
        super().__init__(name=name)
        self.max_drop = max_drop
        self.rate = keras.Variable(0.0, trainable=False, dtype="float32", name="drop_rate")

    def set_rate(self, rate: float) -> None:
        self.rate.assign(min(self.max_drop, max(0.0, rate)))

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
        per_face = ops.reshape(keras.losses.binary_crossentropy(y_true, y_pred), (-1,))
        n = ops.shape(per_face)[0]
        keep = ops.maximum(1, n - ops.cast(ops.floor(ops.cast(n, "float32") * self.rate), "int32"))
        smallest, _ = ops.top_k(-per_face, keep)  # the kept faces' losses, negated
        return -smallest

    def get_config(self) -> dict[str, Any]:
        return {"max_drop": self.max_drop, "name": self.name}


class DropRateSchedule(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets the loss's share for each epoch from ``history`` (the run's whole history, earlier
    attempts included, so a resumed run uses the estimate it made before it was killed), and
    records the share as ``drop_rate`` in the epoch's logs."""

    def __init__(self, loss: SmallLossBCE, history: dict[str, list[float]]) -> None:
        super().__init__()
        self.loss = loss
        self.history = history
        self.announced = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        accuracy = self.history.get("accuracy", [])
        warmup_accuracy = accuracy[WARMUP_EPOCHS - 1] if len(accuracy) >= WARMUP_EPOCHS else None
        self.loss.set_rate(drop_rate(epoch, self.loss.max_drop, warmup_accuracy))
        if warmup_accuracy is not None and not self.announced:
            self.announced = True
            log.info(
                "after the warm-up the model contradicts %.1f %% of the training labels: "
                "leaving out the largest %.1f %% of each batch's losses (at most %.0f %%)",
                100 * (1 - warmup_accuracy),
                100 * float(self.loss.rate.numpy()),
                100 * self.loss.max_drop,
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["drop_rate"] = float(self.loss.rate.numpy())
