"""Evaluate: metrics on the test split, a blessing gate, and a report page for people.

The gate is the TFX Evaluator's idea: a model is blessed when its accuracy reaches
``min_accuracy`` and, if there is a baseline (an earlier model, a registry's latest model, or an
earlier metrics.json), it is not worse than the baseline by more than ``max_regression``. A
baseline model is scored on the *same* test split, so the comparison is like for like.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses import defaults, storage
from glasses.artifacts import (
    EVALUATION_PAGE,
    HISTORY,
    HPARAMS,
    LABEL_ISSUES,
    METRICS,
    MODEL_FILE,
    REGISTRY_LATEST,
    SHARD_METADATA,
    TEST_PREDICTIONS,
    TRAINING_SUMMARY,
)
from glasses.data.dataset import make_dataset
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError, SettingError, within
from glasses.evaluation.metrics import classification_metrics
from glasses.model import registry
from glasses.model.decision import check_band, correct, predicted, uncertain
from glasses.model.predict import Predictor
from glasses.pages import evaluation as evaluation_page
from glasses.pages import plots

log = logging.getLogger(__name__)

GRID_FACES = 32


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]
    blessed: bool
    reason: str


@dataclass(frozen=True)
class LabelledPredictions:
    ids: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    images: np.ndarray  # uint8 [N, R, R, 3], for the report's pictures


def predict_split(
    predictor: Predictor, data: str, split: str, batch_size: int = defaults.BATCH_SIZE
) -> Any:
    """The model's probability for every record of one split, with ids, labels and images."""
    metadata = read_metadata(data)
    if metadata["resolution"] != predictor.resolution:
        raise InputError(
            f"{data} holds {metadata['resolution']} px images but the model takes "
            f"{predictor.resolution} px"
        )
    info = metadata["splits"].get(split)
    if info is None or info["records"] == 0:
        raise InputError(f"{data}: the {split} split is empty; nothing to evaluate")
    ids: list[str] = []
    labels, probs, images = [], [], []
    for batch in make_dataset(data, split, batch_size, with_ids=True, cache=False):
        pixels = batch["image"].numpy()
        ids.extend(v.decode() for v in batch["id"].numpy())
        labels.append(batch["label"].numpy().astype(np.int64))
        probs.append(predictor.predict(pixels))
        images.append(pixels)
    return LabelledPredictions(
        ids, np.concatenate(labels), np.concatenate(probs), np.concatenate(images)
    )


def _baseline_accuracy(baseline: str, data: str, split: str) -> tuple[float, str] | None:
    """(accuracy, description) of the baseline, or None when a registry is still empty."""
    if baseline.endswith(".json"):
        try:
            values = json.loads(storage.read_text(baseline))
        except FileNotFoundError as err:
            raise SettingError(f"baseline {baseline} not found", "baseline") from err
        except json.JSONDecodeError as err:
            raise SettingError(f"baseline {baseline}: not JSON ({err})", "baseline") from err
        if not isinstance(values, dict) or not isinstance(values.get("accuracy"), int | float):
            raise SettingError(f"baseline {baseline}: no numeric 'accuracy'", "baseline")
        return float(values["accuracy"]), f"metrics {baseline}"
    model_dir = baseline
    if not storage.exists(storage.join(baseline, MODEL_FILE)):
        published = registry.latest(baseline)
        if published is None:
            if storage.exists(storage.join(baseline, REGISTRY_LATEST)) or not _has_files(baseline):
                return None  # an empty registry: the first run has nothing to beat
            raise SettingError(
                f"baseline {baseline}: neither a model folder, a registry nor a metrics .json",
                "baseline",
            )
        model_dir = published.model
    scored = predict_split(Predictor(model_dir), data, split)
    accuracy = float(correct(scored.labels, scored.probabilities).mean())
    return accuracy, f"model {model_dir}"


def _has_files(uri: str) -> bool:
    try:
        storage.list_files(uri)
    except FileNotFoundError:
        return False
    return True


def bless(
    accuracy: float, min_accuracy: float, baseline: float | None, max_regression: float
) -> tuple[bool, str]:
    """The gate, as a pure function: (blessed, the reason in words)."""
    if accuracy < min_accuracy:
        return False, f"accuracy {accuracy:.4f} is below min_accuracy {min_accuracy:.4f}"
    if baseline is None:
        return True, f"accuracy {accuracy:.4f} >= {min_accuracy:.4f}; no baseline to compare"
    if accuracy < baseline - max_regression:
        return False, (
            f"accuracy {accuracy:.4f} is worse than the baseline's {baseline:.4f} by more than "
            f"max_regression {max_regression:.4f}"
        )
    return True, (
        f"accuracy {accuracy:.4f} >= {min_accuracy:.4f} and within {max_regression:.4f} of the "
        f"baseline's {baseline:.4f}"
    )


def evaluate(
    data: str,
    model: str,
    output: str,
    uncertain_low: float = defaults.UNCERTAIN_LOW,
    uncertain_high: float = defaults.UNCERTAIN_HIGH,
    min_accuracy: float = defaults.MIN_ACCURACY,
    baseline: str | None = None,
    max_regression: float = defaults.MAX_REGRESSION,
    split: str = "test",
    audit: str | None = None,
) -> Evaluation:
    """Score ``split`` of ``data`` with ``model``; write metrics.json, report.html and the
    per-face predictions to ``output``. With ``audit`` (a folder glasses audit wrote), also the
    accuracy on the faces whose labels it did not flag."""
    check_band(uncertain_low, uncertain_high)
    within("min_accuracy", min_accuracy, 0.0, 1.0)
    within("max_regression", max_regression, 0.0, 1.0)
    start = time.perf_counter()
    predictor = Predictor(model)
    scored = predict_split(predictor, data, split)
    metrics = classification_metrics(
        scored.labels, scored.probabilities, uncertain_low, uncertain_high
    )
    base = _baseline_accuracy(baseline, data, split) if baseline else None
    blessed, reason = bless(
        metrics["accuracy"], min_accuracy, base[0] if base else None, max_regression
    )
    metrics = {
        "split": split,
        "data": data,
        "model": model,
        **metrics,
        **(_unflagged_accuracy(scored, audit) if audit else {}),
        "blessed": blessed,
        "blessing": {
            "reason": reason,
            "min_accuracy": min_accuracy,
            "max_regression": max_regression,
            "baseline": {"source": base[1], "accuracy": base[0]} if base else None,
        },
    }
    log.info("evaluate: %s", reason)
    storage.write_text(storage.join(output, METRICS), json.dumps(metrics, indent=2) + "\n")
    storage.write_text(storage.join(output, TEST_PREDICTIONS), _predictions_csv(scored, metrics))
    history = _read_json(storage.join(model, HISTORY))
    figures = _report_figures(predictor, scored, metrics, model, history)
    page = evaluation_page.render(metrics, figures, training_facts(model, data, history))
    storage.write_text(storage.join(output, EVALUATION_PAGE), page)
    log.info("evaluate: %d faces in %.1fs", len(scored.ids), time.perf_counter() - start)
    return Evaluation(metrics, blessed, reason)


def _unflagged_accuracy(scored: LabelledPredictions, audit: str) -> dict[str, Any]:
    """Accuracy on the faces whose given labels the audit did not flag: what the model gets
    right where the labels are trusted. (Faces the audit never saw count as unflagged.)"""
    uri = storage.join(audit, LABEL_ISSUES)
    try:
        rows = list(csv.DictReader(io.StringIO(storage.read_text(uri))))
    except FileNotFoundError as err:
        raise SettingError(
            f"audit {audit}: no {LABEL_ISSUES} there (is the audit done?)", "audit"
        ) from err
    flagged = {r["id"] for r in rows if r.get("flagged") == "1"}
    keep = np.array([i not in flagged for i in scored.ids])
    hits = correct(scored.labels[keep], scored.probabilities[keep])
    return {
        "accuracy_unflagged": float(hits.mean()) if keep.any() else None,
        "unflagged_faces": int(keep.sum()),
        "flagged_faces": int((~keep).sum()),
        "audit": audit,
    }


def _predictions_csv(scored: LabelledPredictions, metrics: dict[str, Any]) -> str:
    low, high = metrics["uncertain_band"]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["id", "label", "probability", "predicted", "uncertain"])
    p = scored.probabilities
    for row in zip(
        scored.ids, scored.labels, p, predicted(p), uncertain(p, low, high), strict=True
    ):
        i, y, prob, decision, unsure = row
        out.writerow([i, int(y), f"{prob:.6f}", int(decision), int(unsure)])
    return buf.getvalue()


def _grid_indices(scored: LabelledPredictions, low: float, high: float) -> list[int]:
    """The faces worth a look first (misclassified, then uncertain), then others, by a fixed
    seed: a grid of only easy faces would say nothing."""
    p = scored.probabilities
    right = correct(scored.labels, p)
    wrong = np.nonzero(~right)[0]
    unsure = np.nonzero(uncertain(p, low, high) & right)[0]
    rest = np.setdiff1d(np.arange(len(p)), np.r_[wrong, unsure])
    rest = np.random.default_rng(0).permutation(rest)
    half = GRID_FACES // 2
    chosen = [*wrong[: half // 2 + half % 2], *unsure[: half // 2]]
    chosen += [int(i) for i in rest[: GRID_FACES - len(chosen)]]
    return [int(i) for i in chosen]  # in that order: the grid shows them first


def _read_json(uri: str) -> Any:
    """A JSON file's content, or None where it is missing or not JSON (older models)."""
    try:
        return json.loads(storage.read_text(uri))
    except (FileNotFoundError, ValueError):
        return None


def training_facts(model: str, data: str, history: Any) -> dict[str, Any]:
    """What a reviewer asks next, from the model folder, its history and the shards:
    hyperparameters, epochs, the epoch kept, split sizes, the share of training labels left
    out. Models from before training.json existed give what they have."""
    facts: dict[str, Any] = {}
    hparams = _read_json(storage.join(model, HPARAMS))
    if isinstance(hparams, dict):
        facts["hyperparameters"] = hparams
    summary = _read_json(storage.join(model, TRAINING_SUMMARY))
    if isinstance(summary, dict):
        facts.update({k: summary[k] for k in ("epochs_run", "epoch_kept", "monitor")
                      if k in summary})  # fmt: skip
    if isinstance(history, dict) and history.get("drop_rate"):
        rates = [float(r) for r in history["drop_rate"]]
        facts["labels_left_out"] = rates[-1]
        # the curves are trimmed in every epoch that left something out, not only the last
        facts["trimmed_epochs"] = [epoch for epoch, r in enumerate(rates, 1) if r > 0]
    metadata = _read_json(storage.join(data, SHARD_METADATA))
    if isinstance(metadata, dict):
        facts["split_sizes"] = {k: v["records"] for k, v in metadata.get("splits", {}).items()}
    return facts


def _report_figures(
    predictor: Predictor,
    scored: LabelledPredictions,
    metrics: dict[str, Any],
    model: str,
    history: Any,
) -> dict[str, bytes]:
    low, high = metrics["uncertain_band"]
    figures: dict[str, bytes] = {}
    if isinstance(history, dict):
        figures["training_curves"] = plots.training_curves(history)
    else:
        log.warning("evaluate: %s has no history.json; the report has no training curves", model)
    cm = metrics["confusion_matrix"]
    figures["confusion_matrix"] = plots.confusion_matrix(cm["matrix"], cm["labels"])
    figures["roc_curve"] = plots.roc(
        metrics["roc_curve"]["fpr"], metrics["roc_curve"]["tpr"], metrics["roc_auc"]
    )
    figures["reliability"] = plots.reliability(metrics["reliability"], metrics["ece"])
    chosen = _grid_indices(scored, low, high)
    p, y = scored.probabilities[chosen], scored.labels[chosen]
    figures["face_grid"] = plots.face_grid(
        [scored.images[i] for i in chosen],
        [float(v) for v in p],
        [int(v) for v in y],
        wrong=[bool(v) for v in ~correct(y, p)],
        unsure=[bool(v) for v in uncertain(p, low, high)],
    )
    # the most confident face with glasses shows best what the filters respond to
    glasses = np.nonzero(scored.labels == 1)[0]
    pick = (
        int(glasses[np.argmax(scored.probabilities[glasses])])
        if len(glasses)
        else int(np.argmax(scored.probabilities))
    )
    face = scored.images[pick]
    figures["feature_maps"] = plots.feature_maps(face, predictor.feature_maps(face))
    return figures
