"""Is a scored batch of GAN faces like what the model was trained on, and can its predictions
be trusted? Each scored batch is compared to the reference profile its model carries
(glasses.model.reference), statistic by statistic. A batch
drifts on a statistic when scipy's two-sample Kolmogorov-Smirnov test both rejects "same
distribution" (p below ``drift_p_value``) and finds a large difference (KS distance above
``max_drift``): the first guards small batches against chance, the second keeps a batch of
100 000 faces from being flagged for a difference nobody would care about. The class mix is
compared with a chi-square test of the two tables of counts, with the same two thresholds on
the p-value and on the difference of shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses import defaults
from glasses.model.reference import INPUT_STATS, profile


@dataclass(frozen=True)
class Thresholds:
    """When a batch is unhealthy; the defaults were measured on in-distribution batches."""

    max_uncertain_share: float = defaults.MAX_UNCERTAIN_SHARE
    max_drift: float = defaults.MAX_DRIFT  # KS distance, or difference of class shares
    drift_p_value: float = defaults.DRIFT_P_VALUE


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
            drifted = p < thresholds.drift_p_value and distance > thresholds.max_drift
            tests.append({"statistic": name, "test": "Kolmogorov-Smirnov", "distance": distance,
                          "p_value": p, "max_drift": thresholds.max_drift,
                          "max_p_value": thresholds.drift_p_value, "drifted": drifted})  # fmt: skip
            if drifted:
                reasons.append(f"{name.replace('_', ' ')} drifted (KS distance {distance:.2f})")
        table = [[batch["glasses"], batch["no_glasses"]],
                 [reference["glasses"], reference["no_glasses"]]]  # fmt: skip
        if min(sum(col) for col in zip(*table, strict=True)) > 0:
            p = float(chi2_contingency(table).pvalue)
        else:
            p = 1.0  # one class on both sides: nothing to compare
        difference = abs(batch["glasses_share"] - reference["glasses_share"])
        drifted = p < thresholds.drift_p_value and difference > thresholds.max_drift
        tests.append({"statistic": "class_mix", "test": "chi-square", "distance": difference,
                      "p_value": p, "max_drift": thresholds.max_drift,
                      "max_p_value": thresholds.drift_p_value, "drifted": drifted})  # fmt: skip
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
            "p_value": thresholds.drift_p_value,
        },
        "tests": tests,
        "healthy": not reasons,
        "reasons": reasons_shown,
    }
