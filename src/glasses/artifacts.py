"""What the steps hand each other: every file name, the manifest row, the splits and the shard
metadata, in one place that producers and consumers (and the KFP components) import.

Each step's output is a folder (a local path or a ``gs://`` prefix):

    ingest    OUT/manifest.csv, OUT/ingest_report.json
    shard     SHARDS/{split}-{i:05d}-of-{n:05d}.tfrecord[.gz], SHARDS/metadata.json,
              SHARDS/shard_report.json
    tune      TUNING/best_hparams.json, TUNING/trials.json
    train     MODEL/model.keras, MODEL/export/, MODEL/hparams.json, MODEL/history.json,
              MODEL/training.json, MODEL/reference.json, MODEL/training_curves.png
    evaluate  EVAL/metrics.json, EVAL/report.html, EVAL/test_predictions.csv
    score     PRED/predictions.csv, PRED/score_report.json, PRED/batch_report.{json,html}
    registry  REGISTRY/latest.json, REGISTRY/<version>/ (a model folder)
    audit     AUDIT/label_issues.csv, AUDIT/audit_report.json, AUDIT/review.html,
              AUDIT/label_studio_tasks.json, AUDIT/label_studio_config.xml, AUDIT/corrections.csv
    (fan-out) OUT/_parts/ (glasses.parts)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

# ---- the dataset as Kaggle ships it (and glasses synth writes it) ----------------------------
LABELLED_CSV = "train.csv"
UNLABELLED_CSV = "test.csv"
GROUND_TRUTH = "ground_truth.csv"  # synth only: the true labels behind the given ones

# ---- ingest ---------------------------------------------------------------------------------
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("id", "uri", "label", "split", "label_source")
# manifests written before label corrections existed have no label_source column (all "given")
MANIFEST_COLUMNS_V1 = MANIFEST_COLUMNS[:4]
INGEST_REPORT = "ingest_report.json"
SPLITS = ("train", "val", "test", "unlabelled")


@dataclass(frozen=True)
class ManifestRow:
    id: int
    uri: str
    label: int | None  # None in the unlabelled split
    split: str
    # given (as the source's CSV says), corrected (by --label-corrections), or dropped (by
    # them: the row stays in the manifest, shard leaves it out)
    label_source: str = "given"


# ---- shard ----------------------------------------------------------------------------------
SHARD_METADATA = "metadata.json"
SHARD_REPORT = "shard_report.json"
UNLABELLED = -1  # the label feature of an unlabelled record


class SplitInfo(TypedDict):
    records: int
    class_counts: dict[str, int]
    shards: list[str]


class ShardMetadata(TypedDict):
    """``SHARDS/metadata.json``: what every reader of shards needs."""

    format_version: int
    manifest: str
    resolution: int
    image_shape: list[int]
    image_encoding: str
    image_dtype: str
    features: dict[str, str]
    compression: str
    shard_size: int
    splits: dict[str, SplitInfo]
    records: int
    total_bytes: int


# ---- tune and train -------------------------------------------------------------------------
BEST_HPARAMS = "best_hparams.json"
TRIALS = "trials.json"
MODEL_FILE = "model.keras"
EXPORT_DIR = "export"
HPARAMS = "hparams.json"
HISTORY = "history.json"
TRAINING_SUMMARY = "training.json"
REFERENCE = "reference.json"
TRAINING_CURVES = "training_curves.png"

# ---- evaluate, score, registry --------------------------------------------------------------
METRICS = "metrics.json"
EVALUATION_PAGE = "report.html"
TEST_PREDICTIONS = "test_predictions.csv"
PREDICTIONS = "predictions.csv"
SCORE_REPORT = "score_report.json"
BATCH_REPORT = "batch_report.json"
BATCH_PAGE = "batch_report.html"
REGISTRY_LATEST = "latest.json"

# ---- audit ----------------------------------------------------------------------------------
LABEL_ISSUES = "label_issues.csv"
AUDIT_REPORT = "audit_report.json"
AUDIT_PAGE = "review.html"
LABEL_STUDIO_TASKS = "label_studio_tasks.json"
LABEL_STUDIO_CONFIG = "label_studio_config.xml"
CORRECTIONS = "corrections.csv"
