"""A synthetic stand-in for Kaggle's "Glasses or No Glasses" set, in its exact layout.

The real data cannot be downloaded here, so tests, benchmarks and ``make run`` use faces drawn
from seeded random parameters: skin, hair, pose, lighting and background vary, and glasses vary
in shape, frame thickness, colour and tint. Hard cases are planted on purpose (thin pale frames
that nearly vanish at 32 px, rimless lenses, eyebrows and eye shadow that look like frames) so
that a model's accuracy here says something. Photo-like sensor noise makes the PNGs cost what
the real 1024 px PNGs cost to decode (about 1.2 MB each).

Every face depends only on (seed, id), so any number of workers produce the same bytes.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Annotated

import numpy as np

import glasses.synth.noise as noise
from glasses import defaults, storage
from glasses.artifacts import GROUND_TRUTH, LABELLED_CSV, UNLABELLED_CSV
from glasses.errors import OneOf, at_least, within
from glasses.synth.drawing import encode_png
from glasses.synth.faces import STYLES, render_face
from glasses.synth.noise import NOISE_MODELS, NoiseModel
from glasses.synth.truth import FaceTruth, face_truth

log = logging.getLogger(__name__)

IMAGE_DIR = "faces-spring-2020/faces-spring-2020"
LATENT_DIM = 512
GLASSES_FRACTION = 0.635  # the real data's share of "glasses" labels
Style = Annotated[str, OneOf(STYLES)]  # how the faces are drawn


@dataclass(frozen=True)
class SynthSummary:
    images: int
    labelled: int
    unlabelled: int
    glasses: int
    flipped: int
    seconds: float


def assign_labels(seed: int, count: int) -> np.ndarray:
    """True labels: exactly round(63.5 %) glasses, placed at random (deterministic in seed)."""
    labels = np.zeros(count, dtype=np.int64)
    positives = np.random.default_rng([seed, 0, 7]).permutation(count)[
        : round(count * GLASSES_FRACTION)
    ]
    labels[positives] = 1
    return labels


def _write_faces(
    out: str, seed: int, size: int, truths: Sequence[FaceTruth], style: str
) -> list[float]:
    """Draw and write the faces; their hardness (glasses.synth.noise), in the same order."""
    hardness = []
    for truth in truths:
        image = render_face(seed, truth, size, style)
        storage.write_bytes(storage.join(out, IMAGE_DIR, f"face-{truth.id}.png"), encode_png(image))
        drawn = image if size == noise.HARDNESS_RESOLUTION else None
        hardness.append(noise.hardness(seed, truth, style, drawn=drawn))
    return hardness


def synth(
    out: str,
    count: int = defaults.SYNTH_COUNT,
    size: int = defaults.SYNTH_SIZE,
    unlabelled_fraction: float = defaults.UNLABELLED_FRACTION,
    label_noise: float = defaults.LABEL_NOISE,
    seed: int = defaults.SEED,
    workers: int | None = None,
    style: Style = defaults.STYLE,
    noise_model: NoiseModel = defaults.NOISE_MODEL,
    noise_asymmetry: float | None = defaults.NOISE_ASYMMETRY,
) -> SynthSummary:
    """Write ``count`` faces, train.csv, test.csv and ground_truth.csv under ``out``, drawn in
    ``style`` (the same people and labels in any style), with ``label_noise`` of the labels
    wrong the way ``noise_model`` picks them (glasses.synth.noise)."""
    OneOf(STYLES).check("style", style)
    NOISE_MODELS.check("noise_model", noise_model)
    at_least("count", count, 1)
    at_least("size", size, 16)
    within("unlabelled_fraction", unlabelled_fraction, 0.0, 1.0, open_high=True)
    within("label_noise", label_noise, 0.0, 1.0)
    if noise_asymmetry is not None:
        within("noise_asymmetry", noise_asymmetry, 0.0, 1.0)
    start = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    ids = np.arange(1, count + 1)
    n_unlabelled = round(count * unlabelled_fraction)
    n_labelled = count - n_unlabelled
    true_labels = assign_labels(seed, count)
    truths = [face_truth(seed, int(i), int(y)) for i, y in zip(ids, true_labels, strict=True)]

    hardness = np.array(_draw_every_face(out, seed, size, truths, style, workers))
    flipped = np.zeros(count, dtype=bool)
    flipped[:n_labelled] = noise.flips(seed, true_labels[:n_labelled], hardness[:n_labelled],
                                       label_noise, noise_model, noise_asymmetry)  # fmt: skip
    given = np.where(flipped, 1 - true_labels, true_labels)
    _write_tables(out, seed, ids, truths, given, flipped, n_labelled, hardness)
    return SynthSummary(
        images=count,
        labelled=n_labelled,
        unlabelled=n_unlabelled,
        glasses=int(given[:n_labelled].sum()),
        flipped=int(flipped.sum()),
        seconds=time.perf_counter() - start,
    )


def _draw_every_face(
    out: str, seed: int, size: int, truths: Sequence[FaceTruth], style: str, workers: int
) -> list[float]:
    """Every face drawn and written, by ``workers`` processes; their hardness, in id order."""
    chunks = [truths[i : i + 16] for i in range(0, len(truths), 16)]
    if workers <= 1 or len(truths) <= 16:
        return [h for chunk in chunks for h in _write_faces(out, seed, size, chunk, style)]
    hardness: list[float] = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_write_faces, out, seed, size, chunk, style) for chunk in chunks]
        for future in futures:
            hardness += future.result()
            if len(hardness) % 500 < 16:
                log.info("synth: %d/%d faces", len(hardness), len(truths))
    return hardness


def _write_tables(
    out: str,
    seed: int,
    ids: np.ndarray,
    truths: Sequence[FaceTruth],
    given: np.ndarray,
    flipped: np.ndarray,
    n_labelled: int,
    hardness: np.ndarray,
) -> None:
    # latent vectors as in the real CSVs (about N(0, 0.8)); nothing downstream may use them
    latents = np.random.default_rng([seed, 0, 13]).normal(0.0, 0.8, size=(len(ids), LATENT_DIM))
    latent_header = [f"v{j}" for j in range(1, LATENT_DIM + 1)]

    def table(rows: range, with_label: bool) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", *latent_header, *(["glasses"] if with_label else [])])
        for r in rows:
            values = [f"{v:.6f}" for v in latents[r]]
            writer.writerow([int(ids[r]), *values, *([int(given[r])] if with_label else [])])
        return buf.getvalue()

    storage.write_text(storage.join(out, LABELLED_CSV), table(range(n_labelled), True))
    storage.write_text(storage.join(out, UNLABELLED_CSV), table(range(n_labelled, len(ids)), False))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "id",
            "true_label",
            "given_label",
            "flipped",
            "frame_style",
            "frame_width",
            "tinted",
            "distractor",
            "hardness",
        ]
    )
    for r, t in enumerate(truths):
        labelled = r < n_labelled
        writer.writerow([
            t.id, t.glasses, int(given[r]) if labelled else "", int(flipped[r]),
            t.frame_style, f"{t.frame_width:.4f}", int(t.tinted), t.distractor,
            f"{hardness[r]:.4f}",
        ])  # fmt: skip
    storage.write_text(storage.join(out, GROUND_TRUTH), buf.getvalue())
