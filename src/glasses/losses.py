"""Binary cross-entropy that ignores each batch's hardest-to-fit faces once warmed up.

With a share of the labels wrong, a CNN first learns what is common to most faces and only
later memorises the wrong labels, one by one. Those mislabelled faces are the ones with the
largest loss, so leaving the largest ``rate`` share of each batch out of the loss (the
"small-loss trick" of Co-teaching, Han et al. 2018) trains on clean-looking faces only. The
share ramps from 0 to ``max_drop`` over ``warmup_epochs`` so that early on everything counts.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

# epochs over which the dropped share ramps up; early stopping waits for them (glasses.train)
WARMUP_EPOCHS = 5


@keras.saving.register_keras_serializable(package="glasses")
class SmallLossBCE(keras.losses.Loss):  # type: ignore[misc]
    def __init__(
        self,
        max_drop: float = 0.1,
        warmup_epochs: int = WARMUP_EPOCHS,
        name: str = "small_loss_bce",
    ) -> None:
        super().__init__(name=name)
        self.max_drop = max_drop
        self.warmup_epochs = warmup_epochs
        self.rate = keras.Variable(0.0, trainable=False, dtype="float32", name="drop_rate")

    def set_epoch(self, epoch: int) -> None:
        ramp = min(1.0, epoch / self.warmup_epochs) if self.warmup_epochs else 1.0
        self.rate.assign(self.max_drop * ramp)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
        per_face = ops.reshape(keras.losses.binary_crossentropy(y_true, y_pred), (-1,))
        n = ops.shape(per_face)[0]
        keep = ops.maximum(1, n - ops.cast(ops.floor(ops.cast(n, "float32") * self.rate), "int32"))
        smallest, _ = ops.top_k(-per_face, keep)  # the kept faces' losses, negated
        return -smallest

    def get_config(self) -> dict[str, Any]:
        return {"max_drop": self.max_drop, "warmup_epochs": self.warmup_epochs, "name": self.name}


class DropRateSchedule(keras.callbacks.Callback):  # type: ignore[misc]
    """Moves the loss's drop rate along its warm-up, epoch by epoch (resumes correctly)."""

    def __init__(self, loss: SmallLossBCE) -> None:
        super().__init__()
        self.loss = loss

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.loss.set_epoch(epoch)
