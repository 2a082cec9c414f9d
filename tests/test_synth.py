"""The synthetic stand-in: exact Kaggle layout, planted noise, determinism, realistic files."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glasses import storage, synth
from glasses.data.ingest import ingest
from glasses.errors import InputError, SettingError
from glasses.synth.dataset import assign_labels
from glasses.synth.drawing import encode_png
from glasses.synth.faces import STYLES, TUNING_STYLES, render_face
from glasses.synth.truth import face_truth

NESTED = Path("faces-spring-2020/faces-spring-2020")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_layout_and_tables_match_kaggle(small_dataset: Path) -> None:
    assert sorted(p.name for p in small_dataset.iterdir()) == [
        "faces-spring-2020", "ground_truth.csv", "test.csv", "train.csv",
    ]  # fmt: skip
    images = sorted(int(p.stem.split("-")[1]) for p in (small_dataset / NESTED).glob("face-*.png"))
    assert images == list(range(1, 121))
    with (small_dataset / "train.csv").open() as f:
        header = next(csv.reader(f))
    assert header == ["id", *[f"v{i}" for i in range(1, 513)], "glasses"]
    train = read_rows(small_dataset / "train.csv")
    test = read_rows(small_dataset / "test.csv")
    assert [int(r["id"]) for r in train] == list(range(1, 109))
    assert [int(r["id"]) for r in test] == list(range(109, 121))
    assert "glasses" not in test[0]
    latents = np.array([[float(r[f"v{i}"]) for i in range(1, 513)] for r in train])
    assert abs(latents.mean()) < 0.05 and 0.7 < latents.std() < 0.9


def test_ground_truth_records_true_labels_and_planted_flips(small_dataset: Path) -> None:
    truth = {int(r["id"]): r for r in read_rows(small_dataset / "ground_truth.csv")}
    assert sorted(truth) == list(range(1, 121))
    given = {int(r["id"]): int(r["glasses"]) for r in read_rows(small_dataset / "train.csv")}
    flipped = [i for i, r in truth.items() if r["flipped"] == "1"]
    assert len(flipped) == round(108 * 0.1)
    for i, label in given.items():
        assert int(truth[i]["given_label"]) == label
        assert (label != int(truth[i]["true_label"])) == (i in flipped)
    for i in range(109, 121):
        assert truth[i]["given_label"] == "" and truth[i]["flipped"] == "0"
    # glasses drawn exactly where the true label says so
    for r in truth.values():
        assert (r["frame_style"] != "") == (r["true_label"] == "1")


def test_class_balance_is_the_real_datas() -> None:
    labels = assign_labels(seed=1, count=5000)
    assert labels.sum() == round(5000 * 0.635)


def test_faces_are_rgb_png_of_the_requested_size_and_all_different(small_dataset: Path) -> None:
    arrays = []
    for i in (1, 2, 3, 50):
        with Image.open(small_dataset / NESTED / f"face-{i}.png") as im:
            assert (im.format, im.mode, im.size) == ("PNG", "RGB", (64, 64))
            arrays.append(np.asarray(im, dtype=np.float32))
    for a in range(len(arrays)):
        for b in range(a + 1, len(arrays)):
            assert np.abs(arrays[a] - arrays[b]).mean() > 10  # different people, not a template


@pytest.mark.parametrize(("seed", "face"), [(4, 17), (0, 1), (1, 5)])
def test_glasses_are_drawn_over_the_eyes_and_nowhere_else(seed: int, face: int) -> None:
    """The same person with and without glasses differs only in a band across the eyes."""
    with_glasses = render_face(seed, face_truth(seed, face, 1), 256)
    without = render_face(seed, face_truth(seed, face, 0), 256)
    diff = np.abs(np.asarray(with_glasses, np.float32) - np.asarray(without, np.float32)).mean(-1)
    rows, cols = np.nonzero(diff > 8)
    assert len(rows) > 300  # even a hair-thin rimless pair changes hundreds of pixels at 256 px
    assert rows.min() > 80 and rows.max() < 150  # eye level of a 256 px face
    assert cols.min() > 40 and cols.max() < 216
    assert diff[170:].max() == 0 and diff[:60].max() == 0  # mouth, chin, hair untouched


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    synth.synth(str(tmp_path / "a"), count=20, size=64, label_noise=0.2, seed=9, workers=1)
    synth.synth(str(tmp_path / "b"), count=20, size=64, label_noise=0.2, seed=9, workers=2)
    synth.synth(str(tmp_path / "c"), count=20, size=64, label_noise=0.2, seed=10, workers=1)

    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_full_size_pngs_weigh_like_photographs() -> None:
    """1024 px faces must cost what the real ~1.2 MB PNGs cost to decode."""
    sizes = [len(encode_png(render_face(0, face_truth(0, i, i % 2), 1024))) for i in (1, 2)]
    assert all(0.8e6 < s < 2.5e6 for s in sizes), sizes
    with Image.open(io.BytesIO(encode_png(render_face(0, face_truth(0, 1, 1), 1024)))) as im:
        assert im.size == (1024, 1024)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, r"count must be at least 1, got 0"),
        ({"size": 8}, r"size must be at least 16, got 8"),
        ({"unlabelled_fraction": 1.0}, r"unlabelled_fraction must be in \[0, 1\), got 1\.0"),
        ({"label_noise": 1.5}, r"label_noise must be in \[0, 1\], got 1\.5"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    """In the setting's own name: each front end says it in its words (--count)."""
    with pytest.raises(SettingError, match=message) as caught:
        synth.synth(str(tmp_path), **kwargs)
    assert caught.value.settings == tuple(kwargs)


def test_synth_straight_to_gcs_with_workers_then_ingest(gcs_root: str) -> None:
    summary = synth.synth(storage.join(gcs_root, "raw"), count=40, size=32, seed=2, workers=2)
    assert summary.images == 40
    report = ingest(storage.join(gcs_root, "raw"), storage.join(gcs_root, "ingested"))
    assert report.counts()["accepted"] == 40
    assert report.counts()["per_split"]["unlabelled"] == 4
    png = storage.read_bytes(report.rows[0].uri)
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (32, 32)


@pytest.mark.parametrize("style", ["portrait", "sketch"])
def test_each_style_is_deterministic_and_clearly_another_hand(tmp_path: Path, style: str) -> None:
    truth = face_truth(4, 7, 1)
    first = np.asarray(render_face(4, truth, 128, style), dtype=np.int16)
    again = np.asarray(render_face(4, truth, 128, style), dtype=np.int16)
    assert np.array_equal(first, again)
    for other in STYLES:
        if other != style:  # not the same picture with a filter on top
            drawn = np.asarray(render_face(4, truth, 128, other), dtype=np.int16)
            assert np.abs(first - drawn).mean() > 30, other
    # the same people and labels in either style: only the pictures differ, and so how hard
    # each face is to read (ground_truth.csv's last column)
    for name in ("classic", style):
        synth.synth(str(tmp_path / name), count=20, size=32, seed=2, workers=1, style=name)
    for table in ("train.csv", "test.csv"):
        assert (tmp_path / "classic" / table).read_bytes() == (
            tmp_path / style / table
        ).read_bytes()
    classic, other = (
        [line.rsplit(",", 1) for line in (tmp_path / name / "ground_truth.csv").read_text().split()]
        for name in ("classic", style)
    )
    assert [c[0] for c in classic] == [o[0] for o in other] and classic[0][1] == "hardness"
    assert [c[1] for c in classic] != [o[1] for o in other]
    assert set(TUNING_STYLES) < set(STYLES)  # one is held out from tuning


def test_an_unknown_style_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="style must be one of classic, portrait, sketch"):
        synth.synth(str(tmp_path / "x"), count=2, style="watercolour")
