"""The resumable fan-out protocol, as shard and score both use it: gathering needs only the
output folder, never redoes or loses a part, and a part whose data went missing is redone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from glasses import parts, storage
from glasses.data import shard
from glasses.errors import SettingError
from glasses.scoring.health import Thresholds
from glasses.scoring.score import finish as finish_scores
from glasses.scoring.score import score


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def stamps(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("_parts/*")}


def gather(workers: list[Path], into: Path) -> None:
    for w in workers:
        storage.copy_tree(str(w), str(into))


def test_plan_slices_and_worker_check() -> None:
    assert parts.count(10, 4) == 3 and parts.count(8, 4) == 2 and parts.count(0, 4) == 0
    assert parts.mine(list(range(7)), 3, 1) == [1, 4]
    with pytest.raises(SettingError, match=r"worker_index must be in \[0, num_workers\)") as caught:
        parts.check_worker(2, 2)
    assert caught.value.say(lambda s: "--" + s.replace("_", "-")) == (
        "--worker-index must be in [0, --num-workers), got 2 of 2"
    )


def test_shard_gathering_needs_only_the_folder(small_manifest: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    shard.shard(str(small_manifest), str(one), resolution=16, shard_size=25, workers=1)
    workers = [tmp_path / f"w{i}" for i in range(2)]
    for i, w in enumerate(workers):
        summary = shard.shard(str(small_manifest), str(w), resolution=16, shard_size=25,
                              workers=1, num_workers=2, worker_index=i)  # fmt: skip
        assert not summary.complete  # each alone holds half the shards
    merged = tmp_path / "merged"
    gather(workers, merged)
    before = stamps(merged)
    assert shard.finish(str(merged)) is not None  # no manifest, no settings: the plan says it all
    assert stamps(merged) == before  # nothing redone
    assert tree(merged) == tree(one)


def test_a_shard_whose_file_is_gone_is_written_again(small_manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    shard.shard(str(small_manifest), str(out), resolution=16, shard_size=25, workers=1)
    clean = tree(out)
    victim = next(out.glob("train-*.tfrecord"))
    victim.unlink()  # its sidecar stays: the file's absence decides
    (out / "metadata.json").unlink()
    assert shard.finish(str(out)) is None
    summary = shard.shard(str(small_manifest), str(out), resolution=16, shard_size=25, workers=1)
    assert summary.complete and tree(out) == clean


@pytest.fixture
def faces(small_dataset: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "faces"
    folder.mkdir()
    for face in sorted((small_dataset / "faces-spring-2020" / "faces-spring-2020").glob("*"))[:30]:
        shutil.copy(face, folder)
    return folder


@pytest.mark.slow
def test_score_gathering_neither_rescores_nor_loses_a_part(
    trained_model: Path, faces: Path, tmp_path: Path
) -> None:
    one = tmp_path / "one"
    score(str(trained_model), str(faces), str(one), part_size=8, workers=1)
    workers = [tmp_path / f"w{i}" for i in range(2)]
    for i, w in enumerate(workers):
        score(str(trained_model), str(faces), str(w), part_size=8, workers=1, num_workers=2,
              worker_index=i)  # fmt: skip
    merged = tmp_path / "merged"
    gather(workers, merged)
    before = stamps(merged)
    # other thresholds than the workers' and the model named elsewhere: gathering only
    strict = Thresholds(max_uncertain_share=0.0)
    verdict = finish_scores(str(merged), strict, model=str(trained_model))
    assert verdict is not None and verdict["thresholds"]["max_uncertain_share"] == 0.0
    assert stamps(merged) == before
    # the one-worker run judged by the same thresholds: the reports must then be equal
    # (under the workers' own thresholds they differ whenever a face is uncertain)
    assert finish_scores(str(one), strict, model=str(trained_model)) == verdict
    uncertain = json.loads((merged / "score_report.json").read_text())["counts"]["uncertain"]
    assert verdict["healthy"] is (uncertain == 0)
    assert (merged / "predictions.csv").read_bytes() == (one / "predictions.csv").read_bytes()
    assert (merged / "score_report.json").read_bytes() == (one / "score_report.json").read_bytes()


@pytest.mark.slow
def test_a_score_part_whose_rows_are_gone_is_redone(
    trained_model: Path, faces: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p"
    score(str(trained_model), str(faces), str(out), part_size=8, workers=1)
    clean = (out / "predictions.csv").read_bytes()
    (out / "_parts" / "part-00001-of-00004.csv").unlink()
    assert finish_scores(str(out)) is None  # incomplete: not gathered from three parts
    summary = score(str(trained_model), str(faces), str(out), part_size=8, workers=1)
    assert summary.parts_written == 4 and summary.complete
    assert (out / "predictions.csv").read_bytes() == clean
