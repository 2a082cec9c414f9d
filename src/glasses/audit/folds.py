"""The audit's fold models: which fold a face is in, what decides a fold's probabilities, and
training each fold's model by the loop ``glasses train`` runs (glasses.model.train.fit).

Every labelled face (train, val and test splits) gets its probability from a model that never
saw it: fold k's model is trained on the other folds' train and test faces, early-stopping on
their val faces, then predicts fold k. A later round's models leave out of their training
(never out of their predictions) the faces the round before flagged.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses import defaults, parts, storage
from glasses.console import Progress
from glasses.data.manifest import LABELLED_SPLITS, stable_fraction
from glasses.errors import InputError
from glasses.model.hparams import HParams
from glasses.model.train import Monitor

log = logging.getLogger(__name__)

COLUMNS = ("id", "split", "given_label", "p_glasses")  # a fold part's rows


@dataclass(frozen=True)
class Settings:
    """What decides the fold models' probabilities (and so every part's digest)."""

    folds: int = defaults.AUDIT_FOLDS
    rounds: int = defaults.AUDIT_ROUNDS
    seed: int = defaults.SEED
    epochs: int = defaults.EPOCHS
    patience: int = defaults.PATIENCE
    monitor: Monitor = defaults.MONITOR
    hparams: HParams = dataclasses.field(default_factory=HParams)


def fold_of(face_id: int, seed: int, folds: int) -> int:
    """The fold a face belongs to: stable, and independent of its split (another salt)."""
    return int(stable_fraction(seed, face_id, salt="audit-fold") * folds)


def part_name(r: int, k: int) -> str:
    """Round r's fold k as a part of the glasses.parts protocol."""
    return f"round-{r}-fold-{k:03d}"


def round_of(name: str) -> int:
    return int(name.split("-")[1])


def part_data(output: str, name: str) -> list[str]:
    """A fold part's data files, by the part's name (what parts.collect asks for)."""
    return [parts.uri(output, name) + ".csv"]


def digest(
    shards: str, metadata: dict[str, Any], settings: Settings, r: int, k: int, filter_by: str
) -> str:
    """Everything that decides round r's fold k: a later round also depends on the flags of
    the round before, so on the filter; no round depends on how many rounds follow."""
    body = json.dumps(
        {"shards": shards, "metadata": metadata, "round": r, "fold": k,
         "filter_by": filter_by if r > 1 else None,
         "settings": {**dataclasses.asdict(settings), "rounds": None}},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class LabelledFaces:
    """Every labelled face of the shards, in memory once for all of a worker's folds."""

    images: Any
    labels: Any
    ids: Any
    splits: Any
    folds: Any

    @classmethod
    def read(cls, shards: str, s: Settings) -> LabelledFaces:
        from glasses.data.dataset import read_arrays

        arrays = {split: read_arrays(shards, split) for split in LABELLED_SPLITS}
        ids = np.array([i for split in arrays for i in arrays[split][2]])
        return cls(
            images=np.concatenate([arrays[split][0] for split in arrays]),
            labels=np.concatenate([arrays[split][1] for split in arrays]),
            ids=ids,
            splits=np.array([split for split in arrays for _ in arrays[split][2]]),
            folds=np.array([fold_of(int(i), s.seed, s.folds) for i in ids]),
        )


def run_folds(
    faces: LabelledFaces,
    resolution: int,
    output: str,
    s: Settings,
    r: int,
    untrusted: set[int],
    todo: list[tuple[int, str, str]],
) -> None:
    """Train and predict round r's folds ``todo`` ((fold, part name, digest)); each leaves its
    rows, then its sidecar."""
    trusted = np.array([int(i) not in untrusted for i in faces.ids], dtype=bool)
    progress = Progress(f"audit round {r}", len(todo), unit="folds")
    for k, name, part_digest in todo:
        start = time.perf_counter()
        held = faces.folds == k
        fit_on = ~held & (faces.splits != "val") & trusted
        check = ~held & (faces.splits == "val") & trusted
        if not check.any() or not fit_on.any() or not held.any():
            raise InputError(
                f"fold {k} leaves no faces to train on, validate on or predict "
                f"({int(fit_on.sum())}, {int(check.sum())}, {int(held.sum())}); use fewer folds"
            )
        fitted = _fit_fold(faces, resolution, s, r, k, fit_on, check)
        p = predict_both_ways(fitted.model, faces.images[held])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        for face_id, split, label, prob in zip(
            faces.ids[held], faces.splits[held], faces.labels[held], p, strict=True
        ):
            writer.writerow([face_id, split, int(label), f"{float(prob):.6f}"])
        storage.write_text(part_data(output, name)[0], buf.getvalue())
        accuracy = float(np.mean((p >= 0.5) == (faces.labels[held] >= 0.5)))
        seconds = time.perf_counter() - start
        parts.write_sidecar(
            output,
            name,
            {"digest": part_digest, "round": r, "fold": k, "faces": int(held.sum()),
             "trained_on": int(fit_on.sum()), "validated_on": int(check.sum()),
             "left_out_as_flagged": int((~held & ~trusted).sum()),
             "epochs_run": len(fitted.history["loss"]), "epoch_kept": fitted.epoch_kept + 1,
             "accuracy_vs_given": accuracy, "seconds": round(seconds, 1)},
        )  # fmt: skip
        log.info(
            "round %d fold %d: %d faces held out, %.3f agree with their given labels "
            "(%d epochs, %.0fs)",
            r, k, int(held.sum()), accuracy, len(fitted.history["loss"]), seconds,
        )  # fmt: skip
        progress.update(1)
    progress.close()


def _fit_fold(
    faces: LabelledFaces, resolution: int, s: Settings, r: int, k: int, fit_on: Any, check: Any
) -> Any:
    from glasses.data.dataset import from_arrays
    from glasses.model.train import TrainingData, fit, seeded_strategy

    # each round's models start from their own seeds
    seed = s.seed + k + (r - 1) * s.folds
    strategy, replicas = seeded_strategy(seed)
    batch = s.hparams.batch_size * replicas
    data = TrainingData(
        strategy=strategy,
        replicas=replicas,
        train=from_arrays(faces.images[fit_on], faces.labels[fit_on], batch, shuffle=True,
                          seed=s.seed + k),
        val=from_arrays(faces.images[check], faces.labels[check], batch, shuffle=False, seed=0),
        resolution=resolution,
        class_counts=(int((faces.labels[fit_on] < 0.5).sum()),
                      int((faces.labels[fit_on] >= 0.5).sum())),
        val_faces=int(check.sum()),
        seed=seed,
    )  # fmt: skip
    return fit(data, s.hparams, epochs=s.epochs, patience=s.patience, monitor=s.monitor)


def predict_both_ways(model: Any, images: Any) -> Any:
    """The mean probability of each face and its mirror image: faces are left-right symmetric
    and glasses stay glasses, so the two are two looks at one face, and their mean is a
    steadier out-of-fold probability than either."""
    from glasses.model.predict import probabilities

    return (probabilities(model, images) + probabilities(model, images[:, :, ::-1, :])) / 2.0
