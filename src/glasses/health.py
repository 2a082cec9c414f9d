"""Is a scored batch of GAN faces like what the model was trained on, and can its predictions
be trusted? A reference profile travels with every model; each scored batch is compared to it.

Per face: the model's probability and a few input statistics of the pixels the model saw
(mean brightness per channel, contrast, sharpness) plus the file's size and mode. A batch
drifts on a statistic when scipy's two-sample Kolmogorov-Smirnov test both rejects "same
distribution" (p below ``p_value``) and finds a large difference (KS distance above
``max_drift``): the first guards small batches against chance, the second keeps a batch of
100 000 faces from being flagged for a difference nobody would care about. The class mix is
compared with a chi-square test of the two tables of counts, with the same two thresholds on
the p-value and on the difference of shares.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses import storage
from glasses.artifacts import REFERENCE
from glasses.metrics import UNCERTAIN_HIGH, UNCERTAIN_LOW, predicted, uncertain

log = logging.getLogger(__name__)

INPUT_STATS = ("brightness_r", "brightness_g", "brightness_b", "contrast", "sharpness")
HISTOGRAM_BINS = 20
REFERENCE_SOURCES_SAMPLE = 200  # file headers read for the size/mode mix of the reference


@dataclass(frozen=True)
class Thresholds:
    """When a batch is unhealthy; defaults measured on in-distribution batches (README)."""

    max_uncertain_share: float = 0.15
    max_drift: float = 0.25  # KS distance, or difference of class shares
    p_value: float = 0.001


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
    model_dir: str, data: str, band: tuple[float, float] = (UNCERTAIN_LOW, UNCERTAIN_HIGH)
) -> None:
    """MODEL/reference.json from the validation split, scored by the saved model: what normal
    looks like, so `glasses score --model MODEL` can tell a batch that is not."""
    from glasses.dataset import make_dataset
    from glasses.predict import Predictor
    from glasses.shard import read_metadata

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
    from glasses.images import describe
    from glasses.ingest import read_manifest

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


def _ks(batch: np.ndarray, reference: Sequence[float]) -> tuple[float, float]:
    from scipy.stats import ks_2samp

    result = ks_2samp(batch, np.asarray(reference, np.float64))
    return float(result.statistic), float(result.pvalue)


def batch_report(
    probabilities: np.ndarray,
    stats: np.ndarray,
    sources: Sequence[str],
    band: tuple[float, float],
    reference: Mapping[str, Any] | None,
    thresholds: Thresholds,
) -> dict[str, Any]:
    """The batch's profile, each drift test with its value, threshold and verdict, and
    ``healthy`` with the reasons when it is not."""
    from scipy.stats import chi2_contingency

    batch = profile(probabilities, stats, sources, band)
    reasons: list[str] = []
    share = batch["uncertain_share"]
    if share is not None and share > thresholds.max_uncertain_share:
        reasons.append(
            f"{share:.1%} of faces are uncertain, over the limit of "
            f"{thresholds.max_uncertain_share:.1%}"
        )
    tests: list[dict[str, Any]] = []
    if reference is not None and batch["count"]:
        columns = {"probability": np.asarray(probabilities, np.float64)}
        columns |= {name: stats[:, k] for k, name in enumerate(INPUT_STATS)}
        for name, values in columns.items():
            distance, p = _ks(values, reference["samples"][name])
            drifted = p < thresholds.p_value and distance > thresholds.max_drift
            tests.append({"statistic": name, "test": "Kolmogorov-Smirnov", "distance": distance,
                          "p_value": p, "max_drift": thresholds.max_drift,
                          "max_p_value": thresholds.p_value, "drifted": drifted})  # fmt: skip
            if drifted:
                reasons.append(f"{name.replace('_', ' ')} drifted (KS distance {distance:.2f})")
        table = [[batch["glasses"], batch["no_glasses"]],
                 [reference["glasses"], reference["no_glasses"]]]  # fmt: skip
        if min(sum(col) for col in zip(*table, strict=True)) > 0:
            p = float(chi2_contingency(table).pvalue)
        else:
            p = 1.0  # one class on both sides: nothing to compare
        difference = abs(batch["glasses_share"] - reference["glasses_share"])
        drifted = p < thresholds.p_value and difference > thresholds.max_drift
        tests.append({"statistic": "class_mix", "test": "chi-square", "distance": difference,
                      "p_value": p, "max_drift": thresholds.max_drift,
                      "max_p_value": thresholds.p_value, "drifted": drifted})  # fmt: skip
        if drifted:
            reasons.append(
                f"class mix drifted: {batch['glasses_share']:.0%} with glasses, "
                f"{reference['glasses_share']:.0%} in the reference"
            )
        known = set(reference.get("sources") or {})
        new = {k: v for k, v in batch["sources"].items() if known and k not in known}
        if new:
            shown = ", ".join(f"{k} ({v} faces)" for k, v in new.items())
            reasons.append(f"image sizes/modes not seen in the reference: {shown}")
    if reference is None:
        reasons_shown = [*reasons, "no reference profile with this model (trained before it "
                         "existed): only the uncertain share was checked"]  # fmt: skip
        summary = None
    else:
        reasons_shown = reasons
        keys = ("count", "glasses_share", "uncertain_share", "histogram", "sources", "means")
        summary = {k: reference[k] for k in keys if k in reference}
    return {
        **batch,
        "reference": summary,
        "thresholds": {
            "max_uncertain_share": thresholds.max_uncertain_share,
            "max_drift": thresholds.max_drift,
            "p_value": thresholds.p_value,
        },
        "tests": tests,
        "healthy": not reasons,
        "reasons": reasons_shown,
    }
