"""The synthetic set's wrong labels: the instance model puts them on the hard faces."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from glasses import synth
from glasses.errors import SettingError
from glasses.synth import noise
from glasses.synth.truth import face_truth


def hardness_and_truth(count: int, seed: int = 0, style: str = "classic"):
    truths = [face_truth(seed, i, int(i % 3 != 0)) for i in range(1, count + 1)]
    h = np.array([noise.hardness(seed, t, style) for t in truths])
    return truths, np.array([t.glasses for t in truths]), h


@pytest.fixture(scope="module")
def faces() -> tuple[None, np.ndarray, np.ndarray]:
    """300 faces' labels and hardness (flips need no pictures: the hardness stands for them)."""
    rng = np.random.default_rng(0)
    return None, (rng.random(300) < 0.635).astype(int), rng.beta(2.0, 2.5, 300)


def test_uniform_is_the_coin_toss_of_earlier_versions() -> None:
    labels = np.array([0, 1] * 50)
    flipped = noise.flips(4, labels, np.zeros(100), 0.2, "uniform")
    before = np.zeros(100, dtype=bool)
    before[np.random.default_rng([4, 0, 11]).permutation(100)[:20]] = True
    assert (flipped == before).all()


@pytest.mark.parametrize("model", ["uniform", "instance"])
@pytest.mark.parametrize("asymmetry", [None, 0.0, 0.8])
def test_flip_count_as_asked_and_deterministic_in_the_seed(faces, model, asymmetry) -> None:
    _, labels, h = faces
    flipped = noise.flips(1, labels, h, 0.115, model, asymmetry)
    assert flipped.sum() == round(300 * 0.115)
    assert (noise.flips(1, labels, h, 0.115, model, asymmetry) == flipped).all()
    assert (noise.flips(2, labels, h, 0.115, model, asymmetry) != flipped).any()
    if asymmetry is not None:
        to_glasses = int((flipped & (labels == 0)).sum())
        assert to_glasses == round(round(300 * 0.115) * asymmetry)


def test_instance_flips_sit_on_the_hard_faces(faces) -> None:
    _, labels, h = faces
    hits = np.zeros(len(h))
    for seed in range(40):
        hits += noise.flips(seed, labels, h, 0.115, "instance")
    flipped_hardness = (hits * h).sum() / hits.sum()
    assert flipped_hardness > h.mean() + 0.15
    hard = h >= noise.HARD
    assert hits[hard].mean() > 4 * hits[~hard].mean()
    uniform = sum(noise.flips(seed, labels, h, 0.115, "uniform") for seed in range(40))
    assert abs((uniform * h).sum() / uniform.sum() - h.mean()) < 0.05


def test_no_face_is_more_likely_wrong_than_right_and_each_gets_its_chance() -> None:
    weight = np.linspace(0.0, 1.0, 200) ** noise.SHARPNESS + noise.FLOOR
    chances = noise.flip_chances(weight, 40)
    assert chances.sum() == pytest.approx(40)
    assert chances.max() == pytest.approx(noise.MAX_FLIP)
    assert (np.diff(chances) >= -1e-12).all()  # never less likely for a harder face
    hits = np.zeros(200)
    for seed in range(3000):
        picked = noise._systematic(np.random.default_rng(seed), chances)
        assert len(set(picked.tolist())) == len(picked) == 40
        hits[picked] += 1
    assert np.abs(hits / 3000 - chances).max() < 0.04


def test_faint_glasses_and_frame_like_eyes_are_hard() -> None:
    thin = face_truth(0, 1, 1)
    thin = dataclasses.replace(thin, frame_style="rimless", frame_width=0.002, tinted=False)
    bold = dataclasses.replace(thin, frame_style="rectangle", frame_width=0.016, tinted=True)
    for style in ("classic", "portrait", "sketch"):
        assert noise.hardness(0, thin, style) > noise.hardness(0, bold, style) + 0.3
    bare = dataclasses.replace(face_truth(0, 2, 0), distractor="")
    shadow = dataclasses.replace(bare, distractor="eye_shadow")
    assert noise.hardness(0, shadow, "classic") > noise.hardness(0, bare, "classic")
    _, _, h = hardness_and_truth(60, style="portrait")
    assert ((h >= 0) & (h <= 1)).all() and 0.15 < (h >= noise.HARD).mean() < 0.6


def test_synth_writes_hardness_and_names_a_bad_noise_model(tmp_path: Path) -> None:
    summary = synth.synth(str(tmp_path / "raw"), count=60, size=64, label_noise=0.2, seed=1,
                          workers=1, noise_model="instance", noise_asymmetry=0.5)  # fmt: skip
    with (tmp_path / "raw" / "ground_truth.csv").open() as f:
        rows = list(csv.DictReader(f))
    flipped = [r for r in rows if r["flipped"] == "1"]
    assert summary.flipped == len(flipped) == round(54 * 0.2)
    assert sum(r["true_label"] == "0" for r in flipped) == round(len(flipped) * 0.5)
    hardness = [float(r["hardness"]) for r in rows]
    assert np.mean([float(r["hardness"]) for r in flipped]) > np.mean(hardness)
    with pytest.raises(SettingError, match=r"noise_model.*uniform, instance"):
        synth.synth(str(tmp_path / "x"), count=4, size=64, noise_model="latent")
    with pytest.raises(SettingError, match="noise_asymmetry"):
        synth.synth(str(tmp_path / "y"), count=4, size=64, noise_asymmetry=1.5)
