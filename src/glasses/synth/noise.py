"""Wrong labels for the synthetic set, drawn the way the real set's are, or by coin toss.

The real set's labels were most likely derived from the GAN's latent vector, not from the
image, so a label is wrong where the image does not show what the latent says: faint, thin or
half-drawn frames called "no glasses", frame-like shadows and brows called "glasses". The
``instance`` noise model flips labels that way: every face gets a hardness in [0, 1] from what
was drawn, and the chance that its label is flipped grows with it. ``uniform`` is a coin toss
per labelled face, whatever the face.

- A face with glasses is as hard as its glasses are faint at the working resolution (the
  shards' default, 64 px): the face is drawn with and without them (their random stream is
  their own, so the two differ only by the glasses) and the largest changes of brightness they
  make are measured. Hair-thin, rimless and pale frames change little; tinted lenses a lot.
- A face without glasses is as hard as its eye region looks like a frame: the planted
  distractor (a dark ring of eye shadow, like a lens; heavy brows, like a frame's top bar) and
  its strength.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated

import numpy as np
from PIL import Image

from glasses.errors import OneOf
from glasses.synth.faces import render_face
from glasses.synth.truth import FaceTruth

NOISE_MODELS = OneOf(("uniform", "instance"))
NoiseModel = Annotated[str, NOISE_MODELS]

# the brightness change (0-255) of the TOP_PIXELS pixels glasses change most, at the working
# resolution: at FAINT the glasses are all but invisible (hardness 1), at CLEAR they cannot be
# missed (hardness 0), on a log scale between. Measured at 64 px: hair-thin, rimless and
# half-rim frames about 15-40 on classic and portrait faces, thick frames about 40-100, tinted
# lenses up to 160; sketch faces' ink lines about twice as visible
FAINT, CLEAR = 15.0, 110.0
TOP_PIXELS = 40
# a face without glasses: the range of hardness its distractor gives
DISTRACTOR_HARDNESS = {"eye_shadow": (0.55, 0.95), "thick_brows": (0.35, 0.75), "": (0.0, 0.3)}
# a label's chance of being flipped grows as hardness ** SHARPNESS (plus FLOOR: anyone can slip)
SHARPNESS = 3.0
FLOOR = 0.02
# and never passes MAX_FLIP: a label more likely wrong than right would carry the other meaning,
# and nothing could learn the face from it
MAX_FLIP = 0.5
HARD = 0.5  # the faces at least this hard are "the hard faces" of the benchmarks (about a third)
# hardness is judged at the paper's working resolution, not at whatever a model trains on: a
# dataset's wrong labels must not change when the training default does
HARDNESS_RESOLUTION = 64


def glasses_visibility(
    seed: int, truth: FaceTruth, style: str, resolution: int, drawn: Image.Image | None = None
) -> float:
    """How much a face's glasses change its pixels at ``resolution``: the mean brightness change
    of the TOP_PIXELS pixels they change most (0 for a face without glasses). ``drawn``: the
    face as already drawn at ``resolution``, if it was."""
    if not truth.glasses:
        return 0.0
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    worn_image = drawn if drawn is not None else render_face(seed, truth, resolution, style)
    worn = np.asarray(worn_image, np.float32) @ weights
    bare = dataclasses.replace(truth, glasses=0)
    without = np.asarray(render_face(seed, bare, resolution, style), np.float32) @ weights
    change = np.sort(np.abs(worn - without).ravel())[::-1]
    return float(change[:TOP_PIXELS].mean())


def hardness(
    seed: int,
    truth: FaceTruth,
    style: str,
    resolution: int = HARDNESS_RESOLUTION,
    drawn: Image.Image | None = None,
) -> float:
    """How hard the face is to read, in [0, 1]: 1 is glasses nobody can see, or an eye region
    nobody can tell from a frame."""
    if truth.glasses:
        visibility = max(glasses_visibility(seed, truth, style, resolution, drawn), 1e-3)
        faint = (np.log(CLEAR) - np.log(visibility)) / (np.log(CLEAR) - np.log(FAINT))
        return float(np.clip(faint, 0.0, 1.0))
    low, high = DISTRACTOR_HARDNESS[truth.distractor]
    strength = np.random.default_rng([seed, truth.id, 17]).random()  # its own stream
    return float(low + (high - low) * strength)


def flips(
    seed: int,
    true_labels: np.ndarray,
    hardness_of: np.ndarray,
    rate: float,
    model: str,
    asymmetry: float | None = None,
) -> np.ndarray:
    """Which labelled faces get the wrong label: round(rate * n) of them.

    ``uniform``: a coin toss per face, as earlier versions flipped. ``instance``: a face's
    chance grows with its hardness (flip_chances), in whichever class the hard faces are.
    ``asymmetry``: the share of the flips that are "glasses" given to faces without glasses
    (the rest "no glasses" given to faces with them), each class's faces then drawn as their
    model says; the real set's wrong labels are about 0.8 of that kind."""
    n = len(true_labels)
    count = round(n * rate)
    flipped = np.zeros(n, dtype=bool)
    if model == "uniform" and asymmetry is None:
        flipped[np.random.default_rng([seed, 0, 11]).permutation(n)[:count]] = True
        return flipped
    rng = np.random.default_rng([seed, 0, 19])
    weight = hardness_of**SHARPNESS + FLOOR if model == "instance" else np.ones(n)
    if asymmetry is None:  # wherever the faces are hard
        flipped[_systematic(rng, flip_chances(weight, count))] = True
        return flipped
    to_glasses = min(round(count * asymmetry), int((true_labels == 0).sum()))
    to_bare = min(count - to_glasses, int((true_labels == 1).sum()))
    to_glasses = min(count - to_bare, int((true_labels == 0).sum()))
    for label, wanted in ((0, to_glasses), (1, to_bare)):
        members = np.flatnonzero(true_labels == label)
        flipped[members[_systematic(rng, flip_chances(weight[members], wanted))]] = True
    return flipped


def flip_chances(weight: np.ndarray, wanted: int) -> np.ndarray:
    """Each face's chance of a flip: proportional to ``weight``, at most MAX_FLIP (where that
    leaves too few, the rest is shared by the faces below it), summing to ``wanted``."""
    if wanted <= 0 or len(weight) == 0:
        return np.zeros(len(weight))
    cap = max(MAX_FLIP, wanted / len(weight))
    chances = np.zeros(len(weight))
    capped = np.zeros(len(weight), dtype=bool)
    for _ in range(len(weight)):  # water-filling: cap the largest, share out again
        free = wanted - cap * capped.sum()
        chances = np.where(capped, cap, free * weight / weight[~capped].sum())
        over = ~capped & (chances > cap)
        if not over.any():
            break
        capped |= over
    return np.minimum(chances, cap)


def _systematic(rng: np.random.Generator, chances: np.ndarray) -> np.ndarray:
    """Exactly round(sum(chances)) indices, each drawn with its chance (randomised systematic
    sampling: the faces in random order on a line, each as long as its chance; one random
    start, then every whole step)."""
    wanted = round(float(chances.sum()))
    if wanted == 0:
        return np.zeros(0, dtype=int)
    order = rng.permutation(len(chances))
    ends = np.cumsum(chances[order]) * (wanted / chances.sum())
    picks = np.searchsorted(ends, rng.random() + np.arange(wanted), side="right")
    return order[np.minimum(picks, len(order) - 1)]


def hard_ids(ids: Sequence[int], hardness_of: Sequence[float]) -> set[int]:
    """The benchmarks' hard faces: at least HARD."""
    return {int(i) for i, h in zip(ids, hardness_of, strict=True) if h >= HARD}
