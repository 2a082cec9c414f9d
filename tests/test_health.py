"""Batch health: the model's reference profile, the report score writes, shifts it catches."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from glasses.artifacts import REFERENCE
from glasses.data.manifest import read_manifest
from glasses.model import reference as profiles
from glasses.scoring import health
from glasses.scoring.score import score

GLASSES = str(Path(sys.executable).parent / "glasses")


def batch_of(
    train_shards: Path, folder: Path, change: Callable[[Image.Image], Image.Image],
    pick: Callable[[list], list] = lambda rows: rows,
) -> Path:  # fmt: skip
    """Faces the model never trained on (the test and unlabelled splits), changed."""
    rows = read_manifest(str(train_shards.parent / "ingested" / "manifest.csv"))
    rows = pick([r for r in rows if r.split in ("test", "unlabelled")])
    folder.mkdir(parents=True)
    for r in rows:
        with Image.open(r.uri) as im:
            change(im.convert("RGB")).save(folder / f"face-{r.id}.png")
    return folder


def as_is(im: Image.Image) -> Image.Image:
    return im


@pytest.mark.slow
def test_training_writes_the_reference_profile(trained_model: Path, train_shards: Path) -> None:
    reference = json.loads((trained_model / REFERENCE).read_text())
    val = json.loads((train_shards / "metadata.json").read_text())["splits"]["val"]["records"]
    assert reference["count"] == val == sum(reference["histogram"])
    assert all(len(reference["samples"][k]) == val for k in ("probability", *profiles.INPUT_STATS))
    assert reference["sources"] == {"64x64 RGB": val}  # the original files' size and mode
    assert 0 < reference["glasses_share"] < 1


@pytest.mark.slow
def test_in_distribution_batch_is_healthy(
    trained_model: Path, train_shards: Path, tmp_path: Path
) -> None:
    faces = batch_of(train_shards, tmp_path / "faces", as_is)
    summary = score(str(trained_model), str(faces), str(tmp_path / "p"), workers=1)
    report = json.loads((tmp_path / "p" / "batch_report.json").read_text())
    assert summary.healthy and report["healthy"] and report["reasons"] == [], report["reasons"]
    assert sum(report["histogram"]) == report["count"] == summary.scored
    assert {t["statistic"] for t in report["tests"]} == {
        "probability", *profiles.INPUT_STATS, "class_mix"}  # fmt: skip
    page = (tmp_path / "p" / "batch_report.html").read_text()
    assert 'id="verdict">HEALTHY' in page and 'id="faces"' in page and 'id="histogram"' in page


@pytest.mark.slow
@pytest.mark.parametrize(
    ("shift", "change", "reason"),
    [
        ("darkened", lambda im: Image.eval(im, lambda v: int(v * 0.5)), "brightness"),
        ("blurred", lambda im: im.filter(ImageFilter.GaussianBlur(2)), "sharpness drifted"),
    ],
)
def test_shifted_batches_are_flagged_with_the_reason(
    shift: str, change: Callable[[Image.Image], Image.Image], reason: str,
    trained_model: Path, train_shards: Path, tmp_path: Path,
) -> None:  # fmt: skip
    faces = batch_of(train_shards, tmp_path / shift, change)
    summary = score(str(trained_model), str(faces), str(tmp_path / "p"), workers=1)
    assert summary.healthy is False
    assert any(reason in r for r in summary.reasons), summary.reasons
    page = (tmp_path / "p" / "batch_report.html").read_text()
    assert 'id="verdict">UNHEALTHY' in page and "DRIFTED" in page


@pytest.mark.slow
def test_a_batch_of_nearly_all_glasses_is_flagged_for_its_class_mix(
    trained_model: Path, train_shards: Path, tmp_path: Path
) -> None:
    """98 faces the model calls glasses and 2 it does not (chosen by its own predictions, so
    the batch's class mix is 98 % whatever the model's accuracy; its reference, about 70 %,
    is more than --max-drift away)."""
    import csv
    import shutil

    faces = batch_of(train_shards, tmp_path / "faces", as_is)
    score(str(trained_model), str(faces), str(tmp_path / "all"), workers=1)
    with open(tmp_path / "all" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    glasses = [r["uri"] for r in rows if r["label"] == "1"][:98]
    others = [r["uri"] for r in rows if r["label"] == "0"][:2]
    assert len(glasses) == 98 and len(others) == 2
    mix = tmp_path / "mix"
    mix.mkdir()
    for uri in glasses + others:
        shutil.copy(uri, mix)
    summary = score(str(trained_model), str(mix), str(tmp_path / "p"), workers=1)
    assert summary.healthy is False
    assert any(r.startswith("class mix drifted: 98% with glasses") for r in summary.reasons), (
        summary.reasons
    )


@pytest.mark.slow
def test_three_workers_write_the_report_one_writes(
    trained_model: Path, train_shards: Path, tmp_path: Path
) -> None:
    faces = batch_of(train_shards, tmp_path / "faces", as_is)
    score(str(trained_model), str(faces), str(tmp_path / "one"), part_size=30, workers=1)
    for index in (2, 0, 1):
        score(str(trained_model), str(faces), str(tmp_path / "three"), part_size=30, workers=1,
              num_workers=3, worker_index=index)  # fmt: skip
    for name in ("batch_report.json", "batch_report.html", "predictions.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes()


@pytest.mark.slow
def test_unhealthy_batches_fail_and_accept_nothing_when_asked(
    trained_model: Path, train_shards: Path, tmp_path: Path
) -> None:
    dark = batch_of(train_shards, tmp_path / "dark", lambda im: Image.eval(im, lambda v: v // 2))
    accepted = tmp_path / "accepted"
    result = subprocess.run(
        [GLASSES, "score", "--model", str(trained_model), "--source", str(dark), "--output",
         str(tmp_path / "p"), "--accepted-output", str(accepted), "--accept-only-healthy",
         "--fail-on-drift"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("glasses score: batch UNHEALTHY: ")
    assert not accepted.exists()  # nothing from a batch that failed
    fine = batch_of(train_shards, tmp_path / "fine", as_is)
    summary = score(str(trained_model), str(fine), str(tmp_path / "q"),
                    accepted_output=str(accepted), accept_only_healthy=True, workers=1)  # fmt: skip
    copied = [p for p in accepted.rglob("*.png")]
    report = json.loads((tmp_path / "q" / "score_report.json").read_text())
    assert summary.healthy and len(copied) == report["counts"]["accepted"] > 0


@pytest.mark.slow
def test_models_without_a_reference_score_with_a_note(
    trained_model: Path, train_shards: Path, tmp_path: Path
) -> None:
    import shutil

    old = tmp_path / "old-model"
    shutil.copytree(trained_model, old)
    (old / REFERENCE).unlink()
    faces = batch_of(train_shards, tmp_path / "faces", as_is)
    summary = score(str(old), str(faces), str(tmp_path / "p"), workers=1)
    report = json.loads((tmp_path / "p" / "batch_report.json").read_text())
    assert summary.healthy and report["reference"] is None and report["tests"] == []
    assert any("no reference profile" in r for r in report["reasons"])


def test_thresholds_decide_the_verdict() -> None:
    rng = np.random.default_rng(0)
    reference = profiles.profile(rng.uniform(size=300), rng.uniform(size=(300, 5)), [], (0.4, 0.6))
    reference["samples"] = {"probability": list(rng.uniform(size=300))}
    reference["samples"] |= {k: list(rng.uniform(size=300)) for k in profiles.INPUT_STATS}
    anything = health.Thresholds(max_uncertain_share=1)
    same = health.batch_report(
        rng.uniform(size=200), rng.uniform(size=(200, 5)), [], (0.4, 0.6), reference, anything
    )
    assert same["healthy"], same["reasons"]
    shifted = rng.uniform(size=(200, 5)) * 0.5
    moved = health.batch_report(rng.uniform(size=200), shifted, [], (0.4, 0.6), reference, anything)
    assert not moved["healthy"] and len(moved["reasons"]) == 5  # every input statistic
    lenient_limits = health.Thresholds(max_uncertain_share=1, max_drift=0.6)
    lenient = health.batch_report(
        rng.uniform(size=200), shifted, [], (0.4, 0.6), reference, lenient_limits
    )
    assert lenient["healthy"]
    unsure = health.batch_report(np.full(10, 0.5), rng.uniform(size=(10, 5)), [], (0.4, 0.6),
                                 None, health.Thresholds())  # fmt: skip
    assert not unsure["healthy"] and "uncertain" in unsure["reasons"][0]
