"""Label corrections into ingest: both formats, every bad line with its reason, counts balance,
and shard leaving dropped faces out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.test_ingest import make_source, report_of

from glasses import cli
from glasses.data.ingest import ingest
from glasses.data.manifest import read_manifest
from glasses.errors import InputError

TRAIN = [f"{i},0.1,0.2,{i % 2}" for i in range(1, 11)]  # ids 1-10, odd ones labelled 1


def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "src", TRAIN, ["11,0.5,0.6"], images=list(range(1, 12)))


def test_id_label_csv_relabels_drops_and_rejects_by_line(tmp_path: Path) -> None:
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(
        "id,label\n"
        "1,0\n"  # relabel 1 -> 0
        "2,drop\n"  # drop
        "3,1\n"  # the given label again: confirmed
        "99,1\n"  # unknown id
        "11,1\n"  # unlabelled face
        "4,maybe\n"  # bad label
        "x,1\n"  # bad id
        "5,1,extra\n"  # too many fields
        "6,DROP\n"  # case does not matter
    )
    report = ingest(str(source(tmp_path)), str(tmp_path / "out"), label_corrections=[str(fixes)])
    rows = {r.id: r for r in read_manifest(str(tmp_path / "out" / "manifest.csv"))}
    assert (rows[1].label, rows[1].label_source) == (0, "corrected")
    assert rows[2].label_source == "dropped" and rows[6].label_source == "dropped"
    assert (rows[3].label, rows[3].label_source) == (1, "given")
    assert rows[11].label is None and rows[11].label_source == "given"
    document = report_of(tmp_path / "out")
    fixed = document["label_corrections"]
    assert (fixed["lines"], fixed["corrected"], fixed["dropped"], fixed["confirmed"]) == (
        9,
        1,
        2,
        1,
    )
    reasons = {r["source"].rsplit(":", 1)[1]: r["reason"] for r in fixed["rejected"]}
    assert reasons == {
        "5": "unknown id 99: no accepted row of the source has it",
        "6": "face 11 is unlabelled (in test.csv); only labels can be fixed",
        "7": "label 'maybe' is not 0, 1 or drop",
        "8": "id 'x' is not a plain integer",
        "9": "row has 3 fields, the header has 2",
    }
    assert all(r["source"].startswith(str(fixes)) for r in fixed["rejected"])
    counts = document["counts"]
    assert counts["label_source"] == {"given": 8, "corrected": 1, "dropped": 2, "reviewed": 0}
    assert counts["rows_read"] == counts["accepted"] + counts["rejected_rows"] == 11
    # dropped rows stay visible in the manifest but out of the per-split counts
    assert sum(counts["per_split"].values()) == 9
    assert report.corrections == fixed


LABEL_STUDIO_EXPORT = """\
image,face_id,given_label,p_glasses,split,id,verdict,annotator,annotation_id,created_at,\
updated_at,lead_time
gs://b/face-1.png,1,Glasses,0.03,train,17,No glasses,1,5,2026-01-01,2026-01-01,3.2
gs://b/face-2.png,2,No glasses,0.91,train,18,Glasses,1,6,2026-01-01,2026-01-01,2.0
gs://b/face-4.png,4,No glasses,0.62,val,19,Drop,1,7,2026-01-01,2026-01-01,9.9
gs://b/face-6.png,6,No glasses,0.7,test,20,,,,,,
gs://b/face-8.png,8,No glasses,0.7,test,21,Sunglasses,1,8,2026-01-01,2026-01-01,1.0
"""


def test_label_studio_export_is_read_by_face_id_and_verdict(tmp_path: Path) -> None:
    export = tmp_path / "project-1-at-2026.csv"
    export.write_text(LABEL_STUDIO_EXPORT)
    ingest(str(source(tmp_path)), str(tmp_path / "out"), label_corrections=[str(export)])
    rows = {r.id: r for r in read_manifest(str(tmp_path / "out" / "manifest.csv"))}
    assert (rows[1].label, rows[1].label_source) == (0, "corrected")
    assert (rows[2].label, rows[2].label_source) == (1, "corrected")
    assert rows[4].label_source == "dropped"
    fixed = report_of(tmp_path / "out")["label_corrections"]
    reasons = [r["reason"] for r in fixed["rejected"]]
    assert reasons == [
        "no verdict (the task was not annotated)",
        "label 'Sunglasses' is not Glasses, No glasses, Drop",
    ]
    # Label Studio's own task number (column id) is never taken for a face id
    assert rows[17 - 10].label_source == "given"


def test_later_files_win_and_are_counted_as_superseding(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("id,label\n1,drop\n2,drop\n")
    second.write_text("id,label\n1,0\n")
    ingest(
        str(source(tmp_path)), str(tmp_path / "out"), label_corrections=[str(first), str(second)]
    )
    rows = {r.id: r for r in read_manifest(str(tmp_path / "out" / "manifest.csv"))}
    assert (rows[1].label, rows[1].label_source) == (0, "corrected")
    assert rows[2].label_source == "dropped"
    fixed = report_of(tmp_path / "out")["label_corrections"]
    assert (fixed["lines"], fixed["superseded"], fixed["dropped"], fixed["corrected"]) == (
        3,
        1,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("face,label\n1,0\n", "needs an 'id,label' header"),
        ("id,glasses\n1,0\n", "header has no 'label' column"),
        ("face_id,image\n1,x\n", "header has no 'verdict' column"),
    ],
)
def test_an_unreadable_corrections_file_stops_with_its_name(
    tmp_path: Path, text: str, message: str
) -> None:
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        ingest(str(source(tmp_path)), str(tmp_path / "out"), label_corrections=[str(fixes)])
    assert str(fixes) in str(err.value)
    with pytest.raises(InputError, match="no such file"):
        ingest(str(source(tmp_path)), str(tmp_path / "o"), label_corrections=[str(tmp_path / "x")])


def test_cli_takes_corrections_and_shard_leaves_dropped_faces_out(
    small_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glasses.data.shard import shard

    ids = [int(r["id"]) for r in csv.DictReader((small_dataset / "train.csv").open())][:5]
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("id,label\n" + "".join(f"{i},drop\n" for i in ids[:3]) + f"{ids[3]},0\n")
    out = tmp_path / "out"
    code = cli.main(["ingest", "--source", str(small_dataset), "--output", str(out),
                     "--label-corrections", str(fixes)])  # fmt: skip
    assert code == 0
    assert "3 dropped" in capsys.readouterr().out
    manifest = out / "manifest.csv"
    assert manifest.read_text().splitlines()[0] == "id,uri,label,split,label_source"
    shard(str(manifest), str(tmp_path / "shards"), resolution=16, workers=1)
    report = json.loads((tmp_path / "shards" / "shard_report.json").read_text())
    assert report["dropped_by_review"] == 3
    assert report["manifest_rows"] == 120
    assert report["manifest_rows"] == (
        report["records_written"] + len(report["rejected"]) + report["dropped_by_review"]
    )


def test_manifests_without_label_source_still_read(tmp_path: Path) -> None:
    old = tmp_path / "manifest.csv"
    old.write_text("id,uri,label,split\n1,/x/face-1.png,1,train\n2,/x/face-2.png,,unlabelled\n")
    rows = read_manifest(str(old))
    assert [(r.id, r.label, r.label_source) for r in rows] == [(1, 1, "given"), (2, None, "given")]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,uri,label,split,label_source\n1,/x/face-1.png,1,train,guessed\n")
    with pytest.raises(InputError, match=r"bad.csv:2: label_source 'guessed'"):
        read_manifest(str(bad))
