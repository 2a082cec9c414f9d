"""The ``glasses`` console command, run as the container runs it: a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from glasses import storage

GLASSES = str(Path(sys.executable).parent / "glasses")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GLASSES, *args], capture_output=True, text=True, timeout=120)


def test_synth_then_ingest_as_commands(tmp_path: Path) -> None:
    synth = run("synth", str(tmp_path / "raw"), "--count", "30", "--size", "32", "--workers", "1")
    assert synth.returncode == 0, synth.stderr
    assert "wrote 30 faces" in synth.stdout
    ingest = run("ingest", "--source", str(tmp_path / "raw"), "--output", str(tmp_path / "out"))
    assert ingest.returncode == 0, ingest.stderr
    assert "30 rows read, 30 accepted" in ingest.stdout
    report = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert report["counts"]["accepted"] == 30
    manifest = str(tmp_path / "out" / "manifest.csv")
    shards = run(
        "shard", "--manifest", manifest, "--output", str(tmp_path / "s"), "--resolution", "16"
    )
    assert shards.returncode == 0, shards.stderr
    assert "30 records, 0 rejected" in shards.stdout


def test_commands_on_gcs(gcs_root: str) -> None:
    raw, out = storage.join(gcs_root, "raw"), storage.join(gcs_root, "out")
    assert run("synth", raw, "--count", "20", "--size", "32", "--workers", "1").returncode == 0
    ingest = run("ingest", "--source", raw, "--output", out)
    assert ingest.returncode == 0, ingest.stderr
    assert storage.exists(storage.join(out, "manifest.csv"))


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = run("ingest", "--source", str(tmp_path / "nowhere"), "--output", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("glasses ingest: error: --source ")
    bad = run("synth", str(tmp_path / "x"), "--count", "0")
    assert bad.returncode == 1 and "--count must be at least 1" in bad.stderr


@pytest.mark.slow
def test_evaluate_and_score_as_commands(
    train_shards: Path, trained_model: Path, tmp_path: Path
) -> None:
    evaluate = run(
        "evaluate", "--data", str(train_shards), "--model", str(trained_model),
        "--output", str(tmp_path / "eval"), "--min-accuracy", "0.5",
    )  # fmt: skip
    assert evaluate.returncode == 0, evaluate.stderr
    assert "BLESSED" in evaluate.stdout and (tmp_path / "eval" / "report.html").is_file()
    score = run(
        "score", "--model", str(trained_model), "--source", str(train_shards),
        "--output", str(tmp_path / "pred"),
    )  # fmt: skip
    assert score.returncode == 0, score.stderr
    assert "100 faces scored" in score.stdout
    missing = run("score", "--model", str(tmp_path), "--source", str(train_shards), "--output",
                  str(tmp_path / "p"))  # fmt: skip
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith(f"glasses score: error: --model {tmp_path}: no model.keras")


LIBRARY_NOISE = ("tensorflow", "cuda", "absl", "onednn", "i0000", "w0000", "e0000", "xla")


@pytest.mark.slow
def test_a_step_prints_its_own_lines_only(
    train_shards: Path, trained_model: Path, tmp_path: Path
) -> None:
    """At the default log level a TensorFlow step says what it did and nothing from the
    libraries; --log-level DEBUG brings their detail back."""
    import os

    args = ["evaluate", "--data", str(train_shards), "--model", str(trained_model),
            "--min-accuracy", "0.5"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                             "GLASSES_LOG_LEVEL")}  # fmt: skip
    quiet = subprocess.run([GLASSES, *args, "--output", str(tmp_path / "a")], env=env,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    lines = (quiet.stdout + quiet.stderr).strip().splitlines()
    assert quiet.returncode == 0 and len(lines) <= 4, lines
    assert not [line for line in lines if any(n in line.lower() for n in LIBRARY_NOISE)]
    loud = subprocess.run([GLASSES, "--log-level", "DEBUG", *args, "--output",
                           str(tmp_path / "b")], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert loud.returncode == 0
    assert "I0000" in loud.stderr or "tensorflow" in loud.stderr.lower()


@pytest.mark.slow
def test_errors_name_the_cause(trained_model: Path, tmp_path: Path) -> None:
    train = run("train", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "m"))
    assert train.returncode == 1 and len(train.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'nowhere'}: no such folder" in train.stderr
    # a folder of new faces with a link loop and a broken link: scored, and both reported
    faces = tmp_path / "faces"
    (faces / "sub").mkdir(parents=True)
    Image.new("RGB", (64, 64), (120, 90, 60)).save(faces / "a.png")
    (faces / "sub" / "loop").symlink_to(faces)
    (faces / "gone.png").symlink_to(tmp_path / "missing.png")
    score = run("score", "--model", str(trained_model), "--source", str(faces), "--output",
                str(tmp_path / "p"))  # fmt: skip
    assert score.returncode == 0, score.stderr
    assert "1 faces scored" in score.stdout
    ignored = json.loads((tmp_path / "p" / "score_report.json").read_text())["ignored_files"]
    assert any(i.startswith("gone.png (broken symbolic link") for i in ignored), ignored
    assert any(i.startswith("sub/loop (symbolic link to a folder already listed") for i in ignored)
    helps = run("score", "--help").stdout
    assert "--batch-size BATCH_SIZE" in helps and "(default: 256)" in helps
