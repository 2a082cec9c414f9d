"""glasses experiments on a tiny configuration (120 faces, one epoch, one seed, one trial): the
paper's tables with a row per configuration and its figure beside it, the page, a rerun that
skips what is finished, and bad settings in one line."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from glasses.errors import SettingError
from glasses.experiments import studies
from glasses.experiments.run import experiments
from glasses.model.hparams import HParams

TINY = {"seeds": 1, "epochs": 1, "max_trials": 1, "tune_epochs": 1}
GLASSES = str(Path(sys.executable).with_name("glasses"))


@pytest.fixture(scope="module")
def studied(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("experiments")
    summary = experiments(str(small_dataset), str(out), **TINY)  # type: ignore[arg-type]
    assert (summary.runs, summary.ran, summary.skipped) == (9, 9, 0)
    return out


def result_stamps(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("result.json")}


@pytest.mark.slow
def test_each_study_has_a_row_per_configuration_beside_the_papers_figure(studied: Path) -> None:
    tables = json.loads((studied / "paper_tables.json").read_text())
    assert [t["study"] for t in tables["tables"]] == ["resolution", "batch", "models"]
    for table in tables["tables"]:
        expected = [c for c in studies.CONFIGURATIONS if c.study == table["study"]]
        assert [r["configuration"] for r in table["rows"]] == [c.key for c in expected]
        for row, c in zip(table["rows"], expected, strict=True):
            assert row["paper"] == dict(c.paper) and row["seeds"] == [0]
            for metric in table["metrics"]:
                assert row["measured"][metric]["n"] == 1, (row["name"], metric)
            # synthetic data has its truth: test accuracy against it too
            assert 0.0 <= row["measured"]["test_accuracy_vs_truth"]["mean"] <= 1.0
    sizes = [r["measured"]["tfrecord_mb"]["mean"] for r in tables["tables"][0]["rows"]]
    assert sizes[0] * 3.5 < sizes[1] < sizes[2] / 3.5  # 4x the pixels each (uncompressed)
    markdown = (studied / "paper_tables.md").read_text()
    assert "| 32 px | paper | 1 | 0.8611 |" in markdown
    assert "| tuned learning rate | paper | 1 | 0.869 |" in markdown
    assert "Trained for at most 1 epochs; tuned by 1 trials of 1 epochs." in markdown
    run = studied / "runs" / "paper" / "models-tuned-architecture" / "seed-0"
    result = json.loads((run / "result.json").read_text())
    assert (run / "tune" / "best_hparams.json").exists() and result["tune_seconds"] > 0
    assert len(result["history"]["val_accuracy"]) == result["epochs_run"] == 1
    assert result["hparams"]["drop_noisy"] == 0.0  # the paper's plain loss


@pytest.mark.slow
def test_the_page_shows_each_table_as_a_chart_and_the_accuracy_curves(studied: Path) -> None:
    page = (studied / "experiments.html").read_text()
    for section in ("resolution", "batch", "models", "figure-10", "figure-11"):
        assert f'<section id="{section}">' in page, section
    pictures = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pictures) == 2 * 3 + 2  # two metrics a study, Figures 10 and 11
    assert all(base64.b64decode(p).startswith(b"\x89PNG") for p in pictures)
    assert "0.861" in page and "tuned architecture" in page


@pytest.mark.slow
def test_a_rerun_skips_finished_configurations_and_runs_new_seeds(
    studied: Path, small_dataset: Path
) -> None:
    before = result_stamps(studied)
    assert len(before) == 9
    again = experiments(str(small_dataset), str(studied), **TINY)  # type: ignore[arg-type]
    assert (again.ran, again.skipped) == (0, 9) and result_stamps(studied) == before
    (studied / "runs" / "paper" / "batch-batch-64" / "seed-0" / "result.json").unlink()
    other = re.escape("made with {'epochs': 1}, not {'epochs': 2}")
    with pytest.raises(SettingError, match=other):  # one output, one set of settings
        experiments(str(small_dataset), str(studied), study="resolution", seeds=1, epochs=2)
    more = experiments(str(small_dataset), str(studied), study="batch", seeds=2, epochs=1)
    assert (more.runs, more.ran, more.skipped) == (6, 4, 2)  # seed 1 of each, and the one gone
    tables = json.loads((studied / "paper_tables.json").read_text())
    batch = next(t for t in tables["tables"] if t["study"] == "batch")
    assert all(r["seeds"] == [0, 1] and r["measured"]["val_accuracy"]["n"] == 2
               for r in batch["rows"])  # fmt: skip
    resolution = next(t for t in tables["tables"] if t["study"] == "resolution")
    assert all(r["seeds"] == [0] for r in resolution["rows"])  # untouched, still reported


def test_bad_settings_fail_in_one_line_naming_them(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="study: fast"):
        experiments(str(tmp_path), str(tmp_path / "out"), study="resolution,fast")
    with pytest.raises(SettingError, match="seeds"):
        experiments(str(tmp_path), str(tmp_path / "out"), seeds=0)
    done = subprocess.run(
        [GLASSES, "experiments", "--source", str(tmp_path), "--output", str(tmp_path / "o"),
         "--protocol", "mine"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "protocol" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


def test_the_paper_protocol_is_its_plain_loss_at_its_batch_sizes_and_epochs() -> None:
    batch64 = next(c for c in studies.CONFIGURATIONS if c.key == "batch-batch-64")
    paper = studies.hparams_for("paper", batch64)
    assert paper.batch_size == 64 and paper.drop_noisy == 0.0 and paper.label_smoothing == 0.0
    assert not paper.flip and not paper.balance_classes and paper.average_epochs == 1
    assert studies.hparams_for("project", batch64) == HParams(batch_size=64)
    assert [studies.epochs_for("paper", s, None) for s in studies.STUDY_NAMES] == [20, 20, 30]
    assert studies.epochs_for("paper", "models", 3) == 3
    assert len({c.key for c in studies.CONFIGURATIONS}) == len(studies.CONFIGURATIONS) == 9
