"""Ingest: every kind of bad row, the layouts we accept, the split, the report's arithmetic."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from glasses import cli, storage
from glasses.data.ingest import ingest
from glasses.data.manifest import assign_split, read_manifest
from glasses.errors import InputError

NESTED = "faces-spring-2020/faces-spring-2020"


def make_source(
    root: Path,
    train: list[str],
    test: list[str] | None = None,
    images: list[int] | None = None,
    image_dir: str = NESTED,
    train_header: str = "id,v1,v2,glasses",
) -> Path:
    """A tiny source in the Kaggle layout; image files hold a few bytes (ingest never decodes)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text("\n".join([train_header, *train]) + "\n")
    if test is not None:
        (root / "test.csv").write_text("\n".join(["id,v1,v2", *test]) + "\n")
    folder = root / image_dir if image_dir else root
    folder.mkdir(parents=True, exist_ok=True)
    for i in images or []:
        (folder / f"face-{i}.png").write_bytes(b"\x89PNG fake")
    return root


def report_of(out: Path) -> dict:
    return json.loads((out / "ingest_report.json").read_text())


def test_good_rows_become_a_manifest(tmp_path: Path) -> None:
    src = make_source(
        tmp_path / "src", ["1,0.1,0.2,1", "2,0.3,0.4,0"], ["3,0.5,0.6"], images=[1, 2, 3]
    )
    report = ingest(str(src), str(tmp_path / "out"))
    rows = read_manifest(str(tmp_path / "out" / "manifest.csv"))
    assert rows == report.rows
    assert [(r.id, r.label) for r in rows] == [(1, 1), (2, 0), (3, None)]
    assert rows[2].split == "unlabelled"
    assert rows[0].uri == str(src / NESTED / "face-1.png")
    counts = report_of(tmp_path / "out")["counts"]
    assert counts["rows_read"] == 3 and counts["accepted"] == 3 and counts["rejected_rows"] == 0


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("abc,0,0,1", "id 'abc' is not a plain integer"),
        ("../../etc/passwd,0,0,1", "is not a plain integer"),
        ("-3,0,0,1", "id '-3' is not a plain integer"),
        ("1.5,0,0,1", "id '1.5' is not a plain integer"),
        (",0,0,1", "id '' is not a plain integer"),
        ("٣,0,0,1", "is not a plain integer"),  # a non-ASCII digit
        ("5,0,0,2", "label '2' is not 0 or 1"),
        ("5,0,0,", "label '' is not 0 or 1"),
        ("5,0,0,yes", "label 'yes' is not 0 or 1"),
        ("5,0,1", "row has 3 fields, the header has 4"),
        ("5,0,0,1,9", "row has 5 fields, the header has 4"),
        ("7,0,0,1", "no image face-7.png under the source"),
    ],
)
def test_each_bad_row_is_rejected_with_file_line_and_reason(
    tmp_path: Path, row: str, reason: str
) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1", row], images=[1, 5])
    out = tmp_path / "out"
    ingest(str(src), str(out))
    report = report_of(out)
    assert report["counts"]["rows_read"] == 2
    assert report["counts"]["accepted"] == 1
    assert report["counts"]["rejected_rows"] == 1
    bad = [r for r in report["rejected"] if r["source"].endswith("train.csv:3")]
    assert len(bad) == 1 and reason in bad[0]["reason"], report["rejected"]
    assert bad[0]["source"] == f"{src}/train.csv:3"


def test_duplicate_ids_keep_the_first_and_name_it(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1", "1,0,0,0"], ["1,0,0"], images=[1])
    report = ingest(str(src), str(tmp_path / "out"))
    assert [(r.id, r.label) for r in report.rows] == [(1, 1)]
    reasons = [r["reason"] for r in report.rejected]
    assert reasons == [f"duplicate id 1 (first at {src}/train.csv:2)"] * 2
    assert report.counts()["rows_read"] == 3


def test_empty_image_and_orphan_image(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1", "2,0,0,0"], images=[1, 2, 9])
    (src / NESTED / "face-2.png").write_bytes(b"")
    report = ingest(str(src), str(tmp_path / "out"))
    by_id = {r["id"]: r for r in report.rejected}
    assert "is empty (0 bytes)" in by_id["2"]["reason"]
    assert by_id["9"] == {
        "id": "9",
        "source": str(src / NESTED / "face-9.png"),
        "reason": "image not named by any CSV row",
    }
    counts = report.counts()
    assert (counts["rows_read"], counts["accepted"], counts["rejected_rows"]) == (2, 1, 1)
    assert counts["orphan_images"] == 1


def test_image_of_a_rejected_row_is_not_also_an_orphan(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1", "2,0,0,7"], images=[1, 2])
    report = ingest(str(src), str(tmp_path / "out"))
    assert [r["id"] for r in report.rejected] == ["2"]


def test_rows_read_equals_accepted_plus_rejected_on_a_messy_source(tmp_path: Path) -> None:
    train = ["1,0,0,1", "2,0,0,0", "x,0,0,1", "3,0,0,5", "2,0,0,1", "4,0", "", "5,0,0,1.0"]
    src = make_source(tmp_path / "src", train, ["6,0,0", "7,0,0", "6,1,1"], images=[1, 2, 3, 5, 6])
    report = ingest(str(src), str(tmp_path / "out"))
    counts = report.counts()
    assert counts["rows_read"] == 10  # the blank line is not a row
    assert counts["accepted"] == 4  # 1, 2, 5 (label 1.0), 6
    assert counts["rows_read"] == counts["accepted"] + counts["rejected_rows"]
    assert sum(counts["per_split"].values()) == counts["accepted"]


@pytest.mark.parametrize("image_dir", ["", "faces-spring-2020", NESTED, "deep/er/than/usual"])
def test_images_are_found_in_any_layout(tmp_path: Path, image_dir: str) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1", "2,0,0,0"], images=[1, 2], image_dir=image_dir)
    report = ingest(str(src), str(tmp_path / "out"))
    assert [r.id for r in report.rows] == [1, 2]


def test_the_shallowest_copy_of_an_image_wins_and_the_other_is_reported(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1"], images=[1])
    (src / "face-1.png").write_bytes(b"flat copy")
    report = ingest(str(src), str(tmp_path / "out"))
    assert report.rows[0].uri == str(src / "face-1.png")
    assert report.ignored_images[0]["uri"] == str(src / NESTED / "face-1.png")


def test_csv_with_bom_float_labels_and_no_latents(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", [], images=[1, 2])
    (src / "train.csv").write_bytes("\ufeffid,glasses\n1,1.0\n2,0\n".encode())
    report = ingest(str(src), str(tmp_path / "out"))
    assert [(r.id, r.label) for r in report.rows] == [(1, 1), (2, 0)]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("idx,v1,v2,glasses", "train.csv: header has no 'id' column"),
        ("id,v1,v2,label", "train.csv: header has no 'glasses' column"),
    ],
)
def test_bad_header_stops_with_the_file_named(tmp_path: Path, header: str, message: str) -> None:
    src = make_source(tmp_path / "src", ["1,0,0,1"], images=[1], train_header=header)
    with pytest.raises(InputError, match=message):
        ingest(str(src), str(tmp_path / "out"))


def test_unusable_sources_fail_with_one_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothing there"):
        ingest(str(tmp_path / "missing"), str(tmp_path / "out"))
    (tmp_path / "nocsv").mkdir()
    (tmp_path / "nocsv" / "face-1.png").write_bytes(b"x")
    with pytest.raises(InputError, match=r"found neither train\.csv nor test\.csv"):
        ingest(str(tmp_path / "nocsv"), str(tmp_path / "out"))
    src = make_source(tmp_path / "src", ["1,0,0,1", "2,0,0,1"], images=[])
    with pytest.raises(InputError, match=r"no row accepted .*no image face-"):
        ingest(str(src), str(tmp_path / "out2"))
    # the report is still written so the user can see every rejection
    assert report_of(tmp_path / "out2")["counts"]["rejected_rows"] == 2
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "train.csv").write_bytes(b"id,glasses\n1,\xff\xfe\n")
    with pytest.raises(InputError, match=r"train\.csv: not UTF-8"):
        ingest(str(tmp_path / "bin"), str(tmp_path / "out3"))
    with pytest.raises(InputError, match="must leave rows for training"):
        ingest(str(src), str(tmp_path / "out4"), val_fraction=0.5, test_fraction=0.5)


def test_cli_prints_one_line_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["ingest", "--source", str(tmp_path / "missing"), "--output", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("glasses ingest: error: --source ")
    assert "Traceback" not in err[0]


def test_split_is_deterministic_stratified_and_stable() -> None:
    ids = range(1, 20001)
    first = {i: assign_split(i, 7, 0.1, 0.2) for i in ids}
    assert first == {i: assign_split(i, 7, 0.1, 0.2) for i in ids}
    assert first != {i: assign_split(i, 8, 0.1, 0.2) for i in ids}
    # within each "class" (any id subset independent of the hash) the fractions hold
    for members in (ids[::3], [i for i in ids if i % 3]):
        share = Counter(first[i] for i in members)
        n = len(members)
        assert abs(share["test"] / n - 0.2) < 0.02
        assert abs(share["val"] / n - 0.1) < 0.015


def test_adding_rows_never_moves_an_existing_row(tmp_path: Path) -> None:
    rows = [f"{i},0,0,{(i % 3 and 1) or 0}" for i in range(1, 201)]
    src = make_source(tmp_path / "src", rows[:120], images=list(range(1, 201)))
    before = {r.id: r.split for r in ingest(str(src), str(tmp_path / "a"), seed=5).rows}
    make_source(tmp_path / "src", rows)
    after = {r.id: r.split for r in ingest(str(src), str(tmp_path / "b"), seed=5).rows}
    assert all(after[i] == split for i, split in before.items())
    assert len(after) == 200


def test_ingest_a_real_synthetic_dataset(small_dataset: Path, tmp_path: Path) -> None:
    report = ingest(str(small_dataset), str(tmp_path / "out"))
    counts = report.counts()
    assert counts["rows_read"] == 120 and counts["accepted"] == 120
    assert counts["per_split"]["unlabelled"] == 12
    with (small_dataset / "train.csv").open() as f:
        given = {int(r["id"]): int(r["glasses"]) for r in csv.DictReader(f)}
    assert {r.id: r.label for r in report.rows if r.label is not None} == given
    assert all(storage.exists(r.uri) for r in report.rows)


def test_synth_then_ingest_through_gcs(small_dataset: Path, gcs_root: str, tmp_path: Path) -> None:
    for path in small_dataset.rglob("*"):
        if path.is_file():
            storage.copy(
                str(path), storage.join(gcs_root, "raw", str(path.relative_to(small_dataset)))
            )
    remote = ingest(storage.join(gcs_root, "raw"), storage.join(gcs_root, "out"))
    local = ingest(str(small_dataset), str(tmp_path / "out"))
    assert [(r.id, r.label, r.split) for r in remote.rows] == [
        (r.id, r.label, r.split) for r in local.rows
    ]
    assert remote.rows[0].uri.startswith(gcs_root + "/raw/faces-spring-2020/")
    manifest = read_manifest(storage.join(gcs_root, "out", "manifest.csv"))
    assert manifest == remote.rows
