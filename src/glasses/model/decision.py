"""What a probability means: a face is "glasses" when p >= 0.5, and uncertain when p is in the
band [low, high] (closed at both ends; 0.4 to 0.6 by default). Every step that turns
probabilities into answers (evaluate, score, the reference profile, the audit) asks here.
"""

from __future__ import annotations

import numpy as np

from glasses.errors import SettingError

THRESHOLD = 0.5
LABEL_NAMES = ("no_glasses", "glasses")


def predicted(probs: np.ndarray) -> np.ndarray:
    """The decision: True (glasses) where p >= THRESHOLD."""
    return np.asarray(probs) >= THRESHOLD


def correct(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Where the decision agrees with the label."""
    agrees: np.ndarray = predicted(probs) == (np.asarray(labels) == 1)
    return agrees


def check_band(low: float, high: float) -> None:
    """The uncertain band must be a sub-interval of [0, 1]."""
    if not 0.0 <= low <= high <= 1.0:
        raise SettingError(
            f"need 0 <= uncertain_low <= uncertain_high <= 1, got {low}, {high}",
            "uncertain_low",
            "uncertain_high",
        )


def uncertain(probs: np.ndarray, low: float, high: float) -> np.ndarray:
    """Which predictions fall in the closed band [low, high]."""
    return (probs >= low) & (probs <= high)
