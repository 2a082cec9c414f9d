"""Reviewed faces into training (glasses ingest --extra-labels): both formats, every bad line
with its reason, ids from the image's bytes, stable splits, and shard training on them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.test_ingest import make_source, report_of

from glasses import cli
from glasses.data.ingest import ingest, source_fingerprint
from glasses.data.manifest import read_manifest
from glasses.data.reviewed import REVIEWED_ID_BASE, read_reviewed, reviewed_id
from glasses.errors import InputError, SettingError

TRAIN = [f"{i},0.1,0.2,{i % 2}" for i in range(1, 11)]


def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "src", TRAIN, ["11,0.5,0.6"], images=list(range(1, 12)))


def faces(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Real, distinct PNG faces (random pixels) under ``folder``, named as a GAN batch might."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(count):
        pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        path = folder / f"gan-{seed}-{k:03d}.png"
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


def reviewed_rows(out: Path) -> dict[str, object]:
    return {
        r.uri: r for r in read_manifest(str(out / "manifest.csv")) if r.label_source == "reviewed"
    }


def test_uri_label_csv_adds_faces_and_rejects_bad_lines_by_line(tmp_path: Path) -> None:
    batch = faces(tmp_path / "batch", 4)
    copy = tmp_path / "elsewhere" / "same-face.png"
    copy.parent.mkdir()
    copy.write_bytes(batch[0].read_bytes())  # the same face under another name
    (tmp_path / "batch" / "empty.png").write_bytes(b"")
    labels = tmp_path / "batch" / "reviewed.csv"
    labels.write_text(
        "uri,label\n"
        f"{batch[0]},1\n"  # added
        "gan-0-001.png,0\n"  # relative to the CSV's folder: added
        f"{batch[2]},drop\n"  # the reviewer left it out
        f"{copy},1\n"  # the same face again, same label: one face
        f"{batch[3]},maybe\n"  # bad label
        f"{tmp_path / 'missing.png'},1\n"  # no such file
        "empty.png,1\n"  # empty
        f"{batch[3]},1,extra\n"  # too many fields
        ",1\n"  # no URI
    )
    out = tmp_path / "out"
    report = ingest(str(source(tmp_path)), str(out), extra_labels=[str(labels)])
    rows = reviewed_rows(out)
    assert set(rows) == {str(batch[0]), str(batch[1])}
    assert rows[str(batch[0])].label == 1 and rows[str(batch[1])].label == 0
    for path in batch[:2]:
        row = rows[str(path)]
        assert row.id == reviewed_id(path.read_bytes()) and row.id >= REVIEWED_ID_BASE
        assert row.split in ("train", "val", "test")
    extra = report_of(out)["extra_labels"]
    assert (extra["lines"], extra["added"], extra["repeated"], extra["left_out"]) == (9, 2, 1, 1)
    reasons = {r["source"].rsplit(":", 1)[1]: r["reason"] for r in extra["rejected"]}
    assert reasons == {
        "6": "label 'maybe' is not 0, 1 or drop",
        "7": f"image {tmp_path / 'missing.png'}: no such file",
        "8": f"image {tmp_path / 'batch' / 'empty.png'} is empty (0 bytes)",
        "9": "row has 3 fields, the header has 2",
        "10": "no image URI",
    }
    assert extra["lines"] == extra["added"] + extra["repeated"] + extra["left_out"] + len(
        extra["rejected"]
    )
    counts = report.counts()
    assert counts["label_source"]["reviewed"] == 2
    assert counts["accepted"] == 11 + 2  # the source's rows and the reviewed faces


def test_label_studio_export_and_disagreeing_reviews(tmp_path: Path) -> None:
    batch = faces(tmp_path / "batch", 3)
    export = tmp_path / "export.csv"
    with export.open("w", newline="") as f:
        w = csv.writer(f)
        # Label Studio's CSV export: its own task id, the task's data fields, the answer
        w.writerow(["id", "image", "p_glasses", "reason", "verdict", "annotator"])
        w.writerow([101, batch[0], 0.52, "uncertain", "Glasses", "ann@x"])
        w.writerow([102, batch[1], 0.47, "uncertain", "No glasses", "ann@x"])
        w.writerow([103, batch[2], 0.55, "uncertain", "", ""])  # not annotated
    second = tmp_path / "second.csv"
    second.write_text(f"uri,label\n{batch[1]},1\n")  # another reviewer: glasses
    found = read_reviewed([str(export), str(second)])
    assert [f.uri for f in found.faces] == [str(batch[0])]
    reasons = sorted(r["reason"] for r in found.rejected)
    assert reasons == [
        "no verdict (the task was not annotated)",
        f"the same face is labelled 0 at {export}:3",
        f"the same face is labelled 1 at {second}:2",
    ]


def test_a_face_keeps_its_split_when_more_arrive_and_folders_are_read(tmp_path: Path) -> None:
    src = source(tmp_path)
    first = faces(tmp_path / "reviews" / "week-1", 30, seed=1)
    (tmp_path / "reviews" / "week-1" / "labels.csv").write_text(
        "uri,label\n" + "".join(f"{p},{k % 2}\n" for k, p in enumerate(first))
    )
    ingest(str(src), str(tmp_path / "a"), extra_labels=[str(tmp_path / "reviews")])
    before = reviewed_rows(tmp_path / "a")
    fingerprint = source_fingerprint(str(src), str(tmp_path / "reviews"))
    more = faces(tmp_path / "reviews" / "week-2", 30, seed=2)
    (tmp_path / "reviews" / "week-2" / "labels.csv").write_text(
        "uri,label\n" + "".join(f"{p},1\n" for p in more)
    )
    assert source_fingerprint(str(src), str(tmp_path / "reviews")) != fingerprint
    ingest(str(src), str(tmp_path / "b"), extra_labels=[str(tmp_path / "reviews")])
    after = reviewed_rows(tmp_path / "b")
    assert len(before) == 30 and len(after) == 60
    assert all(after[uri].split == row.split for uri, row in before.items())
    assert {r.split for r in after.values()} == {"train", "val", "test"}


def test_bad_extra_labels_files_stop_with_their_name(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match=r"extra_labels .*nowhere: no such file"):
        ingest(str(source(tmp_path)), str(tmp_path / "o"), extra_labels=[str(tmp_path / "nowhere")])
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,glasses\n1,1\n")
    with pytest.raises(InputError, match=r"wrong.csv: an extra-labels file needs a 'uri,label'"):
        ingest(str(source(tmp_path)), str(tmp_path / "o"), extra_labels=[str(wrong)])


def test_cli_takes_extra_labels_and_shard_trains_on_them(
    small_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glasses.data.shard import shard

    batch = faces(tmp_path / "batch", 12, seed=3)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("uri,label\n" + "".join(f"{p},1\n" for p in batch[:8]))
    two.write_text("uri,label\n" + "".join(f"{p},0\n" for p in batch[8:]) + "nothing.png,1\n")
    out = tmp_path / "out"
    code = cli.main(["ingest", "--source", str(small_dataset), "--output", str(out),
                     "--extra-labels", str(one), "--extra-labels", str(two)])  # fmt: skip
    assert code == 0
    assert "12 reviewed faces added, 0 repeated, 0 left out, 1 lines rejected" in (
        capsys.readouterr().out
    )
    shard(str(out / "manifest.csv"), str(tmp_path / "shards"), resolution=16, workers=1)
    report = json.loads((tmp_path / "shards" / "shard_report.json").read_text())
    metadata = json.loads((tmp_path / "shards" / "metadata.json").read_text())
    assert report["manifest_rows"] == 120 + 12 and report["records_written"] == 132
    labelled = sum(metadata["splits"][s]["records"] for s in ("train", "val", "test"))
    assert labelled == 12 + sum(1 for _ in csv.DictReader((small_dataset / "train.csv").open()))
