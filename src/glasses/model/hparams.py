"""The hyperparameters: one typed, JSON-serialisable record of everything that decides the model
and its optimiser. Its defaults are the untuned model; ``glasses tune`` writes a file of them,
``glasses train --hparams`` reads one.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any

from glasses import storage
from glasses.errors import InputError

POOLING = ("max", "average")
_TYPES: dict[str, type] = {"int": int, "str": str, "bool": bool}


@dataclass(frozen=True)
class HParams:
    """Everything that decides the model and its optimiser. Defaults: the untuned model."""

    # four: the last block sees a whole 64 px face; with three, the portrait style's clean-label
    # accuracy was 0.966 and 7 % of its hair-thin frames were missed (CHANGELOG.md)
    conv_blocks: int = 4
    filters: int = 32  # first block; each further block doubles it
    kernel_size: int = 3
    pooling: str = "max"
    dense_units: int = 128
    # 0.6 (was 0.5; the paper found the rate mattered but gives none): with gradient clipping,
    # portrait faces on clean labels went from 0.978 to 0.980 over 5 seeds (CHANGELOG.md)
    dropout: float = 0.6
    learning_rate: float = 1e-3
    decay_rate: float = 0.9
    decay_steps: int = 500
    batch_size: int = 32  # per replica
    # random left-right mirroring while training: faces and glasses are symmetric, so it is
    # twice the faces for free; under 11.5 % flipped labels on the portrait style it took one
    # seed from 0.929 to 0.961 (CHANGELOG.md); a served model sees the image as it is
    flip: bool = True
    augment: bool = False  # small random shifts while training (cost the classic style 10 %)
    mixup: float = (
        0.0  # Beta(a, a) of mixup while training; 0 = off (see glasses.data.dataset.mixup)
    )
    # most of each batch's largest losses left out; the share used is estimated from the data
    # after a warm-up (glasses.model.losses); 0, with label_smoothing 0 and flip and
    # balance_classes off, = the paper's plain loss
    drop_noisy: float = 0.3
    # the model validated, kept and saved is the mean of the last epochs' weights
    # (glasses.model.train)
    average_epochs: int = 3
    # training targets 1 - s/2 and s/2: a model kept from certainty memorises wrong labels
    # later and less (glasses.model.losses.SmallLossBCE); validation uses plain BCE, and the saved
    # model maps its outputs back to probabilities (glasses.model.train.unsmoothed)
    label_smoothing: float = 0.3
    # weigh both classes alike in the loss (n / (2 n_class), from the training split's
    # counts): with 63.5 % glasses, most errors were no-glasses faces called glasses
    balance_classes: bool = True
    # each step's gradient scaled down to this global norm at most (Keras' ``clipnorm``; 0 = off):
    # on 3600 training faces one seed's training accuracy fell from 0.988 to 0.890 in a single
    # epoch without it, and did not with it (CHANGELOG.md)
    clipnorm: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.conv_blocks <= 6:
            problems.append(f"conv_blocks={self.conv_blocks} (1..6)")
        if self.filters < 1 or self.kernel_size < 1 or self.dense_units < 1:
            problems.append("filters, kernel_size and dense_units must be positive")
        if self.pooling not in POOLING:
            problems.append(f"pooling={self.pooling!r} (one of {', '.join(POOLING)})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout={self.dropout} ([0, 1))")
        if not self.learning_rate > 0 or not 0 < self.decay_rate <= 1 or self.decay_steps < 1:
            problems.append("learning_rate > 0, 0 < decay_rate <= 1, decay_steps >= 1")
        if not 0.0 <= self.mixup <= 10.0:
            problems.append(f"mixup={self.mixup} (0 = off, or a Beta parameter up to 10)")
        if not 0.0 <= self.drop_noisy < 0.5:
            problems.append(f"drop_noisy={self.drop_noisy} ([0, 0.5))")
        if not 0.0 <= self.label_smoothing < 0.5:
            problems.append(f"label_smoothing={self.label_smoothing} ([0, 0.5))")
        if not 1 <= self.average_epochs <= 20:
            problems.append(f"average_epochs={self.average_epochs} (1 = off, up to 20)")
        # infinity too: Keras scales by clipnorm * min(1 / norm, 1 / clipnorm) = inf * 0 = NaN
        if not 0.0 <= self.clipnorm < math.inf:
            problems.append(f"clipnorm={self.clipnorm} (0 = off, or a positive gradient norm)")
        if self.batch_size < 1:
            problems.append(f"batch_size={self.batch_size} (>= 1)")
        if problems:
            raise InputError("bad hyperparameters: " + "; ".join(problems))

    @classmethod
    def paper(cls) -> HParams:
        """The seed paper's untuned model as it trained it: plain binary cross-entropy on
        every face (no trimming, smoothing, flips or class weights), no gradient clipping,
        the last epoch's weights (no averaging)."""
        return cls(drop_noisy=0.0, label_smoothing=0.0, flip=False, balance_classes=False,
                   clipnorm=0.0, average_epochs=1)  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "hparams") -> HParams:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"{source}: unknown hyperparameters {', '.join(unknown)}")
        typed: dict[str, Any] = {}
        for name, value in values.items():
            kind = str(known[name].type)
            ok = (
                isinstance(value, int | float)
                if kind == "float"
                else isinstance(value, _TYPES[kind])
            )
            if (isinstance(value, bool) and kind != "bool") or not ok:
                raise InputError(f"{source}: {name}={value!r} should be {kind}")
            typed[name] = float(value) if kind == "float" else value
        return cls(**typed)

    @classmethod
    def load(cls, uri: str) -> HParams:
        try:
            values = json.loads(storage.read_text(uri))
        except json.JSONDecodeError as err:
            raise InputError(f"{uri}: not JSON ({err})") from err
        if not isinstance(values, dict):
            raise InputError(f"{uri}: expected a JSON object of hyperparameters")
        return cls.from_dict(values, source=uri)
