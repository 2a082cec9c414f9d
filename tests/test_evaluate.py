"""evaluate on a real trained model and real shards: metrics, blessing with baselines, report."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from glasses import storage
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError
from glasses.evaluation.evaluate import evaluate
from glasses.evaluation.metrics import classification_metrics
from glasses.model import registry
from glasses.pages.evaluation import render as render_page


@pytest.fixture(scope="module")
def evaluated(train_shards: Path, trained_model: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval")
    result = evaluate(str(train_shards), str(trained_model), str(out), min_accuracy=0.6)
    return out, result


@pytest.mark.slow
def test_metrics_cover_the_test_split_and_match_the_predictions(
    train_shards: Path, evaluated: tuple[Path, object]
) -> None:
    out, result = evaluated
    metrics = json.loads((out / "metrics.json").read_text())
    test = read_metadata(str(train_shards))["splits"]["test"]
    assert metrics["examples"] == test["records"]
    with open(out / "test_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == test["records"] and len({r["id"] for r in rows}) == len(rows)
    labels = np.array([int(r["label"]) for r in rows])
    probs = np.array([float(r["probability"]) for r in rows])
    assert np.bincount(labels).tolist() == [test["class_counts"]["0"], test["class_counts"]["1"]]
    again = classification_metrics(labels, probs)  # from the rounded CSV: same numbers
    for key in ("accuracy", "precision", "recall", "uncertain_fraction"):
        assert metrics[key] == pytest.approx(again[key], abs=1e-6)
    assert metrics["roc_auc"] == pytest.approx(again["roc_auc"], abs=1e-3)
    assert metrics["accuracy"] > 0.7  # the trained model is far better than the majority class
    assert metrics["blessed"] is True and result.blessed  # type: ignore[attr-defined]
    assert metrics["blessing"]["baseline"] is None


@pytest.mark.slow
def test_report_is_one_page_with_every_section(evaluated: tuple[Path, object]) -> None:
    out, _ = evaluated
    page = (out / "report.html").read_text()
    for section in (
        "summary", "training_curves", "confusion_matrix", "roc_curve", "reliability",
        "face_grid", "feature_maps",
    ):  # fmt: skip
        assert f'<section id="{section}">' in page
    images = re.findall(r'src="([^"]+)"', page)
    assert len(images) == 6 and all(i.startswith("data:image/png;base64,") for i in images)
    assert "http://" not in page and "https://" not in page  # self-contained
    assert "BLESSED" in page


@pytest.mark.slow
def test_report_says_what_a_reviewer_asks_next(
    train_shards: Path, trained_model: Path, evaluated: tuple[Path, object]
) -> None:
    out, _ = evaluated
    page = (out / "report.html").read_text()
    training = page.split('<section id="training">', 1)[1].split("</section>", 1)[0]
    sizes = read_metadata(str(train_shards))["splits"]
    assert f"train {sizes['train']['records']} / val {sizes['val']['records']}" in training
    kept = json.loads((trained_model / "training.json").read_text())
    assert f"{kept['epochs_run']}; {kept['epoch_kept']}" in training
    assert "hparams: conv_blocks" in training and "left out (likely wrong labels)" in training
    assert "plain binary cross-entropy over every test face" in page  # not the trimmed loss
    # the curves say why they sit low, whenever an epoch was trimmed (not only the last)
    rates = json.loads((trained_model / "history.json").read_text())["drop_rate"]
    assert max(rates) > 0
    assert "so these losses sit far below the summary" in page
    metrics = json.loads((out / "metrics.json").read_text())
    untrimmed = render_page(metrics, {"training_curves": b"png"}, {"trimmed_epochs": []})
    assert "training_curves" in untrimmed and "far below the summary" not in untrimmed
    assert "below: the face&#x27;s label in the test set" in page  # not the prediction


def test_face_grid_shows_misclassified_then_uncertain_first() -> None:
    from glasses.evaluation.evaluate import LabelledPredictions, _grid_indices

    labels = np.array([1, 1, 0, 0, 1, 0, 1, 0, 1, 0] * 4)
    p = np.array([0.9, 0.1, 0.2, 0.95, 0.55, 0.45, 0.8, 0.3, 0.7, 0.05] * 4)
    scored = LabelledPredictions(
        [str(i) for i in range(40)], labels, p, np.zeros((40, 8, 8, 3), np.uint8)
    )
    order = _grid_indices(scored, 0.4, 0.6)
    wrong = {i for i in range(40) if (p[i] >= 0.5) != (labels[i] == 1)}
    unsure = {i for i in range(40) if 0.4 <= p[i] <= 0.6} - wrong
    assert set(order[: len(wrong)]) == wrong  # misclassified first
    assert set(order[len(wrong) : len(wrong) + len(unsure)]) == unsure  # then uncertain
    assert len(set(order)) == len(order) == 32


@pytest.mark.slow
def test_blessing_against_baselines(
    train_shards: Path, trained_model: Path, evaluated: tuple[Path, object], tmp_path: Path
) -> None:
    out, _ = evaluated
    accuracy = json.loads((out / "metrics.json").read_text())["accuracy"]
    data, model = str(train_shards), str(trained_model)

    better = tmp_path / "better.json"
    better.write_text(json.dumps({"accuracy": accuracy + 0.05}))
    r = evaluate(data, model, str(tmp_path / "e1"), min_accuracy=0.5, baseline=str(better))
    assert not r.blessed and "baseline" in r.reason

    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps({"accuracy": accuracy - 0.05}))
    r = evaluate(data, model, str(tmp_path / "e2"), min_accuracy=0.5, baseline=str(worse))
    assert r.blessed and r.metrics["blessing"]["baseline"]["accuracy"] == accuracy - 0.05

    # a model folder as baseline is scored on the same test faces: the same model ties
    r = evaluate(data, model, str(tmp_path / "e3"), min_accuracy=0.5, baseline=model)
    assert r.blessed and r.metrics["blessing"]["baseline"]["accuracy"] == accuracy

    # an empty registry (first run) has no baseline; after publishing, its latest model is one
    reg = str(tmp_path / "registry")
    r = evaluate(data, model, str(tmp_path / "e4"), min_accuracy=0.5, baseline=reg)
    assert r.blessed and r.metrics["blessing"]["baseline"] is None
    published = registry.publish(model, reg, r.metrics)
    r = evaluate(data, model, str(tmp_path / "e5"), min_accuracy=0.5, baseline=reg)
    assert r.metrics["blessing"]["baseline"]["source"] == f"model {published.model}"

    r = evaluate(data, model, str(tmp_path / "e6"), min_accuracy=0.999)
    assert not r.blessed and "below min_accuracy" in r.reason


@pytest.mark.slow
def test_bad_inputs_are_named(train_shards: Path, trained_model: Path, tmp_path: Path) -> None:
    data, model = str(train_shards), str(trained_model)
    with pytest.raises(InputError, match=r"model\.keras not found"):
        evaluate(data, str(tmp_path), str(tmp_path / "e"))
    with pytest.raises(InputError, match="uncertain_low <= uncertain_high"):
        evaluate(data, model, str(tmp_path / "e"), uncertain_low=0.7, uncertain_high=0.6)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(InputError, match="neither a model folder"):
        evaluate(data, model, str(tmp_path / "e"), baseline=str(tmp_path / "junk"))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        evaluate(data, model, str(tmp_path / "e"), baseline=str(bad))


@pytest.mark.slow
def test_registry_publish_moves_latest(trained_model: Path, any_root: str) -> None:
    reg = storage.join(any_root, "registry")
    assert registry.latest(reg) is None
    first = registry.publish(str(trained_model), reg, {"accuracy": 0.9})
    assert registry.latest(reg) == first
    names = {storage.relative(f.uri, first.model) for f in storage.list_files(first.model)}
    assert {"model.keras", "metrics.json", "hparams.json"} <= names
    assert not any(n.startswith("logs/") for n in names)
