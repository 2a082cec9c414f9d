"""What is drawn for each face: the true label and what makes the face hard (frame style and
thickness, tint, distractors), from its own random stream, so that a face's truth never
depends on how it is drawn or in which style."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_STYLES = ("round", "rectangle", "aviator", "cat_eye", "half_rim", "rimless")


@dataclass(frozen=True)
class FaceTruth:
    """What was drawn: the true label and how hard the face is meant to be."""

    id: int
    glasses: int
    frame_style: str  # "" when there are no glasses
    frame_width: float  # frame thickness as a fraction of image size
    tinted: bool
    distractor: str  # "", "thick_brows" or "eye_shadow"


def face_truth(seed: int, face_id: int, glasses: int) -> FaceTruth:
    """Draws the labelled attributes; :func:`render_face` draws the rest from the same stream."""
    rng = np.random.default_rng([seed, face_id])
    r = rng.random()
    distractor = "thick_brows" if r < 0.18 else "eye_shadow" if r < 0.26 else ""
    style, width, tinted = "", 0.0, False
    if glasses:
        style = str(rng.choice(FRAME_STYLES, p=[0.25, 0.25, 0.15, 0.12, 0.13, 0.10]))
        # a quarter of frames are hair-thin: 2-4 px at 1024, well under a pixel at 32
        thin = rng.random() < 0.25
        width = float(rng.uniform(0.002, 0.004) if thin else rng.uniform(0.006, 0.016))
        tinted = bool(rng.random() < 0.22)
    return FaceTruth(face_id, glasses, style, width, tinted, distractor)
