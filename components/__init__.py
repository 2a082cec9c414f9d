"""KFP components of the glasses pipeline: thin wrappers over the ``glasses`` package's steps."""

from components.steps import (
    DEFAULT_IMAGE,
    IMAGE_REPOSITORY,
    evaluate,
    fan_out,
    fingerprint_source,
    ingest,
    merge_scores,
    merge_shards,
    publish,
    score,
    shard,
    train,
    tune,
)

__all__ = [
    "DEFAULT_IMAGE",
    "IMAGE_REPOSITORY",
    "evaluate",
    "fan_out",
    "fingerprint_source",
    "ingest",
    "merge_scores",
    "merge_shards",
    "publish",
    "score",
    "shard",
    "train",
    "tune",
]
