"""What normal looks like: the profile every model carries, so that score can tell a batch of
faces that is not like what the model was trained on (glasses.scoring.health).

``train`` writes ``MODEL/reference.json`` from the validation split, scored by the saved model:
the probabilities, the class mix, the uncertain share, and per face a few statistics of the
pixels the model sees (mean brightness per channel, contrast, sharpness) plus the files' size
and mode. ``profile`` summarises the reference and every scored batch alike.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from glasses import defaults, storage
from glasses.artifacts import REFERENCE
from glasses.model.decision import predicted, uncertain

log = logging.getLogger(__name__)

INPUT_STATS = ("brightness_r", "brightness_g", "brightness_b", "contrast", "sharpness")
HISTOGRAM_BINS = 20
REFERENCE_SOURCES_SAMPLE = 200  # file headers read for the size/mode mix of the reference


def input_stats(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float [N, 5]: brightness of R, G, B, contrast (std of luminance),
    sharpness (mean absolute Laplacian of luminance), all on a 0-1 scale."""
    x = images.astype(np.float32) / 255.0
    brightness = x.mean(axis=(1, 2))
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    contrast = luma.std(axis=(1, 2))
    lap = (
        4 * luma[:, 1:-1, 1:-1]
        - luma[:, :-2, 1:-1]
        - luma[:, 2:, 1:-1]
        - luma[:, 1:-1, :-2]
        - luma[:, 1:-1, 2:]
    )
    sharpness = np.abs(lap).mean(axis=(1, 2))
    return np.column_stack([brightness, contrast, sharpness]).astype(np.float64)


def histogram(probabilities: np.ndarray) -> list[int]:
    counts, _ = np.histogram(probabilities, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return [int(c) for c in counts]


def profile(
    probabilities: np.ndarray,
    stats: np.ndarray,
    sources: Iterable[str],
    band: tuple[float, float],
) -> dict[str, Any]:
    """What a set of faces looks like: the reference's and every batch's summary."""
    p = np.asarray(probabilities, np.float64)
    count = len(p)
    glasses = int(predicted(p).sum()) if count else 0
    unsure = int(uncertain(p, *band).sum()) if count else 0
    return {
        "count": count,
        "glasses": glasses,
        "no_glasses": count - glasses,
        "glasses_share": glasses / count if count else None,
        "uncertain": unsure,
        "uncertain_share": unsure / count if count else None,
        "histogram": histogram(p),
        "sources": dict(sorted(Counter(s for s in sources if s).items())),
        "means": {
            name: float(stats[:, k].mean()) if count else None for k, name in enumerate(INPUT_STATS)
        },
    }


def write_reference(
    model_dir: str,
    data: str,
    band: tuple[float, float] = (defaults.UNCERTAIN_LOW, defaults.UNCERTAIN_HIGH),
) -> None:
    """MODEL/reference.json from the validation split, scored by the saved model: what normal
    looks like, so `glasses score --model MODEL` can tell a batch that is not."""
    from glasses.data.dataset import make_dataset
    from glasses.data.shard_format import read_metadata
    from glasses.model.predict import Predictor

    predictor = Predictor(model_dir)
    probs, stats = [], []
    for images, _ in make_dataset(data, "val", 256):
        pixels = images.numpy()
        probs.append(predictor.predict(pixels))
        stats.append(input_stats(pixels))
    if not probs:
        log.warning("train: no validation faces, so the model has no reference profile")
        return
    p, s = np.concatenate(probs), np.concatenate(stats)
    sources = _reference_sources(read_metadata(data))
    reference = {
        "format": 1,
        "split": "val",
        "band": list(band),
        **profile(p, s, sources, band),
        "samples": {
            "probability": [round(float(v), 5) for v in p],
            **{name: [round(float(v), 5) for v in s[:, k]] for k, name in enumerate(INPUT_STATS)},
        },
    }
    storage.write_text(storage.join(model_dir, REFERENCE), json.dumps(reference) + "\n")


def _reference_sources(metadata: Mapping[str, Any]) -> list[str]:
    """Size and mode of up to 200 validation images, from their headers, when the manifest
    and images are local (reading whole objects from GCS for a header is not worth it)."""
    from glasses.data.images import describe
    from glasses.data.manifest import read_manifest

    manifest = str(metadata.get("manifest", ""))
    if not manifest or storage.is_gcs(manifest):
        return []
    try:
        rows = [r for r in read_manifest(manifest) if r.split == "val"]
    except (OSError, ValueError) as err:
        log.info("train: no size/mode mix in the reference (%s)", err)
        return []
    kinds = []
    for row in rows[:REFERENCE_SOURCES_SAMPLE]:
        if storage.is_gcs(row.uri):
            return []
        try:
            with open(row.uri, "rb") as f:
                kinds.append(describe(f.read(64 * 1024)))
        except OSError:
            continue
    return kinds


def read_reference(model_dir: str) -> dict[str, Any] | None:
    try:
        reference: dict[str, Any] = json.loads(
            storage.read_text(storage.join(model_dir, REFERENCE))
        )
    except FileNotFoundError:
        return None
    return reference
