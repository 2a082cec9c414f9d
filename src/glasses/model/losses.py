"""Binary cross-entropy that leaves out the faces whose labels look wrong.

With a share of the labels wrong, a CNN first learns what is common to most faces and only
later memorises the wrong labels, one by one. Those mislabelled faces are the ones with the
largest loss, so leaving the largest ``rate`` share of each batch out of the loss (the
"small-loss trick" of Co-teaching, Han et al. 2018) trains on clean-looking faces only.

The share must match the data: leaving out 20 % of clean faces means the hardest real ones
(hair-thin frames) are never learned. It is estimated after every epoch from the validation
faces, which the model never trains on, so memorising wrong training labels cannot hide them:

- confident learning (cleanlab's confident joint, Northcutt et al. 2021) over the model's
  validation probabilities counts the faces it contradicts *with confidence*: about the noise
  rate once the model has learned, and near zero on clean labels, where a model still learning
  is unsure rather than confidently wrong (the median of the last 3 epochs' estimates is used);
- the lowest validation error so far bounds it from above (the error is the noise rate plus
  the model's own mistakes), which tames the confident joint of a model that has learned
  nothing yet.

The share is the smaller of the two, at most ``max_drop``, ramped up over the first
``WARMUP_EPOCHS``. (An earlier rule read the training error once, after a fixed warm-up: a
model still learning then, on another drawing style or a busy machine, took its unfinished
learning for noise and left out a quarter of every batch for good.)

The targets are smoothed as well (``HParams.label_smoothing``): leaving out only the largest
losses also leaves out the hardest real faces, and a model kept from certainty memorises the
wrong labels that stay in later and less.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import keras
from keras import ops

log = logging.getLogger(__name__)

# epochs over which the dropped share ramps up; early stopping waits for them (glasses.model.train)
WARMUP_EPOCHS = 5


ESTIMATE_WINDOW = 3  # epochs whose confident-joint estimates are pooled (median)
LEARNING_STARTED = 0.8  # validation error below this share of the minority class's share


def drop_rate(
    epoch: int,
    max_drop: float,
    val_accuracy: list[float],
    confident_noise: list[float],
    minority_share: float,
    warmup: int = WARMUP_EPOCHS,
) -> tuple[float, str]:
    """The share of each batch left out in ``epoch`` (0-based), from the epochs before it, and
    why, in words.

    Nothing is left out until the model has started to learn (its validation error is below
    ``LEARNING_STARTED`` times the minority class's share): before that its largest losses are
    simply the minority class's faces, and leaving them out would teach it to answer the
    majority class. Then the share is the smaller of the confident-joint noise estimate
    (median of the last ``ESTIMATE_WINDOW`` epochs) and the lowest validation error so far,
    capped at ``max_drop``, ramped up over ``warmup`` epochs.
    """
    errors = [1.0 - a for a in val_accuracy[:epoch]]
    started = next(
        (e for e, error in enumerate(errors) if error < LEARNING_STARTED * minority_share), None
    )
    if started is None:
        return 0.0, "the model has not started to learn yet"
    bound = min(errors)
    options = [(bound, f"the lowest validation error so far ({bound:.1%})")]
    estimates = [e for e in confident_noise[:epoch] if e >= 0][-ESTIMATE_WINDOW:]
    if estimates:
        joint = float(sorted(estimates)[len(estimates) // 2])
        options.append((joint, f"the confident-joint noise estimate ({joint:.1%})"))
    value, why = min(options)
    if value > max_drop:
        value, why = max_drop, f"the cap ({max_drop:.0%}; {why})"
    ramp = min(1.0, (epoch - started) / warmup)
    if ramp < 1.0:
        why += f", ramping up ({ramp:.0%})"
    return value * ramp, why


def confident_noise(labels: Any, p_glasses: Any) -> float:
    """The share of wrong labels cleanlab's confident joint estimates; -1 when it cannot
    (a single class among the labels)."""
    import numpy as np
    from cleanlab.count import estimate_joint

    labels = np.asarray(labels).astype(int)
    if len(set(labels.tolist())) < 2:
        return -1.0
    p = np.clip(np.asarray(p_glasses, dtype=np.float64).reshape(-1), 1e-6, 1 - 1e-6)
    joint = estimate_joint(labels, np.stack([1.0 - p, p], axis=1))
    return float(1.0 - np.trace(joint))


@keras.saving.register_keras_serializable(package="glasses")
class SmallLossBCE(keras.losses.Loss):  # type: ignore[misc]
    """Binary cross-entropy with label smoothing that leaves out each batch's largest ``rate``
    share of losses (set per epoch by DropRateSchedule).

    Smoothing (targets 1 - s/2 and s/2 instead of 1 and 0) keeps the model from becoming
    certain, and so from driving the loss of a face it disagrees with to infinity: a wrong
    label is memorised later and less (Lukasik et al. 2020, "Does label smoothing mitigate
    label noise?"). Measured on both synthetic drawing styles (CHANGELOG.md).
    """

    def __init__(
        self, max_drop: float = 0.3, label_smoothing: float = 0.0, name: str = "small_loss_bce"
    ) -> None:
        super().__init__(name=name)
        self.max_drop = max_drop
        self.label_smoothing = label_smoothing
        self.rate = keras.Variable(0.0, trainable=False, dtype="float32", name="drop_rate")
        self.smoothing = keras.Variable(
            label_smoothing, trainable=False, dtype="float32", name="label_smoothing"
        )
        # each class's weight in the loss (no glasses, glasses): set from the training data's
        # class counts when HParams.balance_classes is on (glasses.model.train)
        self.class_weight = keras.Variable(
            [1.0, 1.0], trainable=False, dtype="float32", name="class_weight"
        )

    def balance(self, counts: tuple[int, int]) -> None:
        """Weigh each class by n / (2 n_class): both classes count alike, the mean weight is 1."""
        total = sum(counts)
        self.class_weight.assign([total / (2 * max(1, c)) for c in counts])

    def set_rate(self, rate: float) -> None:
        self.rate.assign(min(self.max_drop, max(0.0, rate)))

    @contextlib.contextmanager
    def plain(self) -> Iterator[None]:
        """Plain cross-entropy over every face while inside: what validation must measure (a
        loss that leaves out the faces it disagrees with most would hide what early stopping
        must see)."""
        kept = float(self.rate.numpy()), float(self.smoothing.numpy())
        weights = self.class_weight.numpy()
        self.rate.assign(0.0)
        self.smoothing.assign(0.0)
        self.class_weight.assign([1.0, 1.0])
        try:
            yield
        finally:
            self.rate.assign(kept[0])
            self.smoothing.assign(kept[1])
            self.class_weight.assign(weights)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
        smoothing = ops.cast(self.smoothing, y_pred.dtype)
        target = y_true * (1.0 - smoothing) + 0.5 * smoothing
        per_face = ops.reshape(keras.losses.binary_crossentropy(target, y_pred), (-1,))
        n = ops.shape(per_face)[0]
        keep = ops.maximum(1, n - ops.cast(ops.floor(ops.cast(n, "float32") * self.rate), "int32"))
        smallest, kept = ops.top_k(-per_face, keep)  # the kept faces' losses, negated
        label = ops.cast(ops.take(ops.reshape(y_true, (-1,)), kept) >= 0.5, "int32")
        return -smallest * ops.cast(ops.take(self.class_weight, label), y_pred.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            "max_drop": self.max_drop,
            "label_smoothing": self.label_smoothing,
            "name": self.name,
        }


class DropRateSchedule(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets the loss's share for each epoch from ``history`` (the run's whole history, earlier
    attempts included, so a resumed run continues where it was), and records in the epoch's
    logs (and so in history.json) the share used (``drop_rate``) and the confident-joint
    estimate on ``val`` after the epoch (``noise_estimate``)."""

    def __init__(self, loss: SmallLossBCE, history: dict[str, list[float]], val: Any) -> None:
        super().__init__()
        self.loss = loss
        self.history = history
        self.val = val
        self.reason = ""
        import numpy as np

        self.labels = np.concatenate([np.asarray(y) for _, y in val]) >= 0.5
        share = float(self.labels.mean()) if len(self.labels) else 0.5
        self.minority_share = min(share, 1.0 - share)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        rate, self.reason = drop_rate(
            epoch,
            self.loss.max_drop,
            self.history.get("val_accuracy", []),
            self.history.get("noise_estimate", []),
            self.minority_share,
        )
        self.loss.set_rate(rate)
        log.debug("epoch %d: leaving out %.1f %% of each batch: %s", epoch + 1, 100 * rate,
                  self.reason)  # fmt: skip

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from glasses.model.predict import probabilities

        p = probabilities(self.model, self.val)
        estimate = confident_noise(self.labels, p)
        if logs is not None:
            logs["drop_rate"] = float(self.loss.rate.numpy())
            logs["noise_estimate"] = estimate
        if epoch % WARMUP_EPOCHS == WARMUP_EPOCHS - 1:
            log.info(
                "epoch %d: left out the largest %.1f %% of each batch's losses: %s; after it, "
                "cleanlab's confident joint puts the validation labels' noise at %.1f %%",
                epoch + 1, 100 * float(self.loss.rate.numpy()), self.reason, 100 * estimate,
            )  # fmt: skip
