"""What a shard folder holds, for its one writer (glasses.data.shard) and every reader
(glasses.data.dataset, and through it train, tune, evaluate, audit and score).

``SHARDS/{split}-{index:05d}-of-{count:05d}.tfrecord[.gz]``: TFRecord files of
``tf.train.Example`` records with three features, ``image`` (raw uint8 pixels, H x W x 3,
row-major: at 64 px a record is 12 KB and decodes in microseconds, where PNG inside the record
was measured 16x slower to read), ``label`` (int64, -1 when unlabelled) and ``id`` (bytes).
``SHARDS/metadata.json`` (ShardMetadata) says what every reader needs: the resolution, the
compression, and per split the record count, class counts and shard files.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, TypedDict

import numpy as np

from glasses import storage
from glasses.artifacts import SHARD_METADATA
from glasses.data.tfrecord import encode_example
from glasses.errors import InputError, OneOf

FORMAT_VERSION = 1
IMAGE_ENCODING = "raw"
FEATURES = {"image": "bytes", "label": "int64 (-1 = unlabelled)", "id": "bytes"}
UNLABELLED = -1  # the label feature of an unlabelled record
COMPRESSIONS = OneOf(("NONE", "GZIP"))
Compression = Annotated[str, COMPRESSIONS]


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


def shard_name(split: str, index: int, count: int, compression: str) -> str:
    suffix = ".tfrecord.gz" if compression == "GZIP" else ".tfrecord"
    return f"{split}-{index:05d}-of-{count:05d}{suffix}"


def encode_record(pixels: np.ndarray, label: int | None, face_id: int) -> bytes:
    """One face as a serialized ``tf.train.Example``: the bytes a shard holds for it."""
    example: dict[str, bytes | int] = {
        "image": pixels.tobytes(),
        "label": UNLABELLED if label is None else label,
        "id": str(face_id).encode(),
    }
    return encode_example(example)


def read_metadata(shards: str) -> ShardMetadata:
    """``SHARDS/metadata.json``, checked: the one way every step reads shards' metadata."""
    uri = storage.join(shards, SHARD_METADATA)
    try:
        metadata: ShardMetadata = json.loads(storage.read_text(uri))
    except FileNotFoundError as err:
        if not storage.is_gcs(shards) and not os.path.isdir(shards):
            raise InputError(
                f"{shards}: no such folder (expected shards written by shard)"
            ) from err
        raise InputError(
            f"{uri} not found: shards are incomplete (is every worker's share done?)"
        ) from err
    if metadata.get("format_version") != FORMAT_VERSION:
        found = metadata.get("format_version")
        raise InputError(f"{uri}: format_version {found} is not {FORMAT_VERSION}")
    return metadata
