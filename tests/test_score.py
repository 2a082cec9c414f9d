"""score on real images and shards: counts balance with bad files mixed in, no skew against
evaluate, fan-out equals one worker, a crashed run resumes, accepted faces are copied."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from glasses import storage
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError
from glasses.evaluation.evaluate import evaluate
from glasses.scoring.score import score


def read_predictions(folder: str | Path) -> list[dict[str, str]]:
    with open(Path(folder) / "predictions.csv") as f:
        return list(csv.DictReader(f))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def messy_folder(small_dataset: Path, tmp_path: Path) -> Path:
    """40 real faces (64 px, as the model takes them) with bad files mixed in."""
    folder = tmp_path / "new-faces"
    (folder / "batch-2").mkdir(parents=True)
    faces = sorted((small_dataset / "faces-spring-2020" / "faces-spring-2020").glob("*.png"))
    for i, face in enumerate(faces[:40]):
        shutil.copy(face, folder / ("batch-2" if i % 2 else "") / f"gan {i}.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "truncated.png").write_bytes(faces[0].read_bytes()[:300])
    (folder / "not-really.jpg").write_bytes(b"hello")
    (folder / "notes.txt").write_text("not an image, not an input")
    return folder


@pytest.mark.slow
def test_counts_balance_with_bad_files(
    trained_model: Path, messy_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pred"
    summary = score(str(trained_model), str(messy_folder), str(out), part_size=16, workers=2)
    assert summary.complete and summary.scored == 40 and summary.rejected == 3
    report = json.loads((out / "score_report.json").read_text())
    c = report["counts"]
    assert c["inputs"] == 43 == c["scored"] + c["rejected"]
    assert c["scored"] == c["glasses"] + c["no_glasses"]
    reasons = {r["uri"].rsplit("/", 1)[-1]: r["reason"] for r in report["rejected"]}
    assert "empty" in reasons["empty.png"] and "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["not-really.jpg"]
    assert report["ignored_files"] == ["notes.txt"]
    rows = read_predictions(out)
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40
    assert sum(int(r["uncertain"]) for r in rows) == c["uncertain"]
    for r in rows:
        p = float(r["probability"])
        assert 0 <= p <= 1 and int(r["label"]) == (p >= 0.5)
        assert int(r["uncertain"]) == (0.4 <= p <= 0.6)


@pytest.mark.slow
def test_same_probabilities_as_evaluate(
    train_shards: Path, trained_model: Path, tmp_path: Path
) -> None:
    """score decodes the raw PNGs itself; evaluate reads the shards: the numbers must agree."""
    evaluate(str(train_shards), str(trained_model), str(tmp_path / "eval"), min_accuracy=0)
    with open(tmp_path / "eval" / "test_predictions.csv") as f:
        expected = {r["id"]: float(r["probability"]) for r in csv.DictReader(f)}
    manifest = read_metadata(str(train_shards))["manifest"]
    score(str(trained_model), manifest, str(tmp_path / "pred"), split="test", workers=1)
    got = {r["id"]: float(r["probability"]) for r in read_predictions(tmp_path / "pred")}
    assert got.keys() == expected.keys()
    assert max(abs(got[i] - expected[i]) for i in got) < 1e-5


@pytest.mark.slow
def test_fan_out_equals_one_worker_and_a_crash_resumes(
    trained_model: Path, messy_folder: Path, tmp_path: Path
) -> None:
    model, source = str(trained_model), str(messy_folder)
    score(model, source, str(tmp_path / "one"), part_size=10, workers=1)

    fanned = tmp_path / "fanned"
    first = score(model, source, str(fanned), part_size=10, num_workers=3, worker_index=0)
    assert not first.complete and not (fanned / "predictions.csv").exists()
    for index in (2, 1):
        last = score(model, source, str(fanned), part_size=10, num_workers=3, worker_index=index)
    assert last.complete
    assert tree(fanned) == tree(tmp_path / "one")


@pytest.mark.slow
def test_a_crashed_run_resumes_and_ends_as_a_clean_run(
    trained_model: Path, small_manifest: Path, tmp_path: Path
) -> None:
    """A manifest row whose file is, at first, a folder (IsADirectoryError, not a bad image)."""
    lines = small_manifest.read_text().splitlines()
    row = lines[35].split(",")
    trap = tmp_path / "trap.png"
    real = Path(row[1])
    lines[35] = ",".join([row[0], str(trap), *row[2:]])
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    model, out = str(trained_model), tmp_path / "resumed"
    trap.mkdir()
    with pytest.raises(IsADirectoryError):
        score(model, str(manifest), str(out), split="all", part_size=10, workers=1)
    done = {p.name: p.stat().st_mtime_ns for p in (out / "_parts").glob("part-*.json")}
    assert len(done) == 3 and not (out / "predictions.csv").exists()  # rows 1-30 finished
    trap.rmdir()
    shutil.copy(real, trap)
    score(model, str(manifest), str(out), split="all", part_size=10, workers=1)
    again = {p.name: p.stat().st_mtime_ns for p in (out / "_parts").glob("part-*.json")}
    assert {k: again[k] for k in done} == done  # finished parts were not redone
    score(model, str(manifest), str(tmp_path / "clean"), split="all", part_size=10, workers=1)
    assert tree(out) == tree(tmp_path / "clean")
    assert len(read_predictions(out)) == len(lines) - 1


@pytest.mark.slow
def test_shards_source_and_accepted_output(
    train_shards: Path, trained_model: Path, tmp_path: Path
) -> None:
    out, accepted = tmp_path / "pred", tmp_path / "accepted"
    summary = score(str(trained_model), str(train_shards), str(out), accepted_output=str(accepted))
    unlabelled = read_metadata(str(train_shards))["splits"]["unlabelled"]["records"]
    assert summary.scored == unlabelled == 100 and summary.rejected == 0
    rows = read_predictions(out)
    assert all(Path(r["uri"]).is_file() for r in rows)  # found through the shards' manifest
    confident = {Path(r["uri"]).name: r["label"] for r in rows if r["uncertain"] == "0"}
    copied = {p.name: p.parent.name for p in accepted.rglob("*.png")}
    assert copied == {n: ("glasses" if y == "1" else "no_glasses") for n, y in confident.items()}
    report = json.loads((out / "score_report.json").read_text())
    assert report["counts"]["accepted"] == len(confident)


@pytest.mark.slow
def test_gcs_source_and_output(trained_model: Path, messy_folder: Path, gcs_root: str) -> None:
    source = storage.join(gcs_root, "faces")
    storage.copy_tree(str(messy_folder), source)
    out = storage.join(gcs_root, "pred")
    summary = score(str(trained_model), source, out, part_size=16, workers=2)
    assert summary.complete and summary.scored == 40 and summary.rejected == 3
    text = storage.read_text(storage.join(out, "predictions.csv"))
    assert len(text.splitlines()) == 41 and source in text


def test_bad_arguments(tmp_path: Path) -> None:
    """Checked before the model is loaded or a face decoded (a model folder is only looked
    for): the settings first, then the model, then the source."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.keras").write_bytes(b"")
    (tmp_path / "faces").mkdir()
    model, source = str(tmp_path / "model"), str(tmp_path / "faces")
    with pytest.raises(InputError, match="uncertain_low <= uncertain_high"):
        score(model, source, str(tmp_path), uncertain_low=0.9)
    with pytest.raises(InputError, match="worker_index must be in"):
        score(model, source, str(tmp_path), num_workers=2, worker_index=2)
    with pytest.raises(InputError, match="no files"):
        score(model, str(tmp_path / "nothing"), str(tmp_path / "p"))
    no_model = r"no model\.keras \(not a folder train wrote\) and no latest\.json"
    with pytest.raises(InputError, match=no_model):  # before the source is read
        score(str(tmp_path), str(tmp_path / "nothing"), str(tmp_path / "p"))


@pytest.mark.slow
def test_a_ledger_scores_only_new_faces_and_the_uncertain_go_to_review(
    trained_model: Path, messy_folder: Path, small_dataset: Path, tmp_path: Path
) -> None:
    """An hourly scoring of a growing folder: each run scores what the model has not, counts
    balance per run (listed = skipped + scored + rejected), and the uncertain faces of the
    run, the most uncertain first, are its Label Studio tasks; a registry is a model too."""
    from glasses.model.registry import publish

    published = publish(str(trained_model), str(tmp_path / "registry"))
    led, model = str(tmp_path / "ledger"), str(tmp_path / "registry")

    def run(name: str) -> dict:
        score(model, str(messy_folder), str(tmp_path / name), part_size=16, workers=1, ledger=led)
        return json.loads((tmp_path / name / "score_report.json").read_text())

    first = run("hour-1")
    assert first["model_version"] == published.version
    assert (first["counts"]["listed"], first["counts"]["skipped"]) == (43, 0)
    assert (first["counts"]["scored"], first["counts"]["rejected"]) == (40, 3)
    rows = read_predictions(tmp_path / "hour-1")
    tasks = json.loads((tmp_path / "hour-1" / "review" / "label_studio_tasks.json").read_text())
    unsure = {r["uri"]: float(r["probability"]) for r in rows if r["uncertain"] == "1"}
    assert unsure and {t["data"]["image"] for t in tasks} == set(unsure)
    distance = [abs(t["data"]["p_glasses"] - 0.5) for t in tasks]
    assert distance == sorted(distance)  # the most uncertain first
    assert all(t["data"]["model_version"] == published.version for t in tasks)
    assert all(t["data"]["given_label"] == "none (a new face)" for t in tasks)
    page = (tmp_path / "hour-1" / "review" / "review.html").read_text()
    assert f"{len(unsure)} of 40 faces uncertain" in page and page.count("<figure") == len(unsure)

    faces = sorted((small_dataset / "faces-spring-2020" / "faces-spring-2020").glob("*.png"))
    for i, face in enumerate(faces[40:45]):  # five new faces land, and one bad file
        shutil.copy(face, messy_folder / f"new {i}.png")
    (messy_folder / "broken.png").write_bytes(b"\x89PNG broken")
    second = run("hour-2")
    assert (second["counts"]["listed"], second["counts"]["skipped"]) == (49, 43)
    assert (second["counts"]["scored"], second["counts"]["rejected"]) == (5, 1)
    assert {r["id"] for r in read_predictions(tmp_path / "hour-2")} == {
        f"new {i}.png" for i in range(5)
    }

    third = run("hour-3")  # nothing new: nothing scored, nothing lost
    assert (third["counts"]["listed"], third["counts"]["skipped"]) == (49, 49)
    assert third["counts"]["inputs"] == 0 and read_predictions(tmp_path / "hour-3") == []

    (messy_folder / "gan 0.png").write_bytes(faces[46].read_bytes())  # rewritten in place
    fourth = run("hour-4")
    assert [r["id"] for r in read_predictions(tmp_path / "hour-4")] == ["gan 0.png"]
    assert fourth["counts"]["skipped"] == 48


def test_the_review_page_shows_the_most_uncertain_and_the_tasks_hold_all(tmp_path: Path) -> None:
    """A whole batch uncertain (an untrained or drifted model): the page decodes only the
    PAGE_FACES most uncertain faces' images; every uncertain face is a task."""
    from glasses.scoring import review

    rows = [[f"f{k}.png", str(tmp_path / f"f{k}.png"), f"{0.45 + k / 10000:.6f}", "0", "1"]
            for k in range(review.PAGE_FACES + 30)]  # fmt: skip
    context = {"band": [0.4, 0.6], "model_version": "v1"}
    counts = {"scored": len(rows), "uncertain": len(rows)}
    said = review.write(str(tmp_path / "out"), context, rows, counts)
    folder = review.folder(str(tmp_path / "out"), {"review": said})
    tasks = json.loads((Path(folder) / "label_studio_tasks.json").read_text())
    assert len(tasks) == len(rows) and tasks[0]["data"]["image"].endswith(f"f{len(rows) - 1}.png")
    page = (Path(folder) / "review.html").read_text()
    assert page.count("<figure") == review.PAGE_FACES
    assert f"the {review.PAGE_FACES} most uncertain; the tasks hold all {len(rows)}" in page
