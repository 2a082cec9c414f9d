"""The one reader of shards, for train, tune, evaluate and score: a ``tf.data`` pipeline.

Shards on ``gs://`` are first copied to a local cache folder through the storage layer (they
are small: 4500 faces at 64 px are 55 MB), so TensorFlow only ever reads local files and no
second GCS client is involved. Files are interleaved, records parsed in parallel, cached in
memory after the first epoch, shuffled, batched and prefetched so the model is never starved.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from glasses import defaults, storage
from glasses.data.shard_format import ShardMetadata, read_metadata
from glasses.errors import InputError

AUTOTUNE = -1  # tf.data.AUTOTUNE, without importing TensorFlow at module import


def local_shard_files(shards: str, split: str, metadata: ShardMetadata | None = None) -> list[str]:
    """Local paths of ``split``'s shard files, copying them from GCS when needed."""
    metadata = metadata or read_metadata(shards)
    if split not in metadata["splits"]:
        raise InputError(f"{shards}: no split {split!r} in metadata.json")
    return [
        local_shard_file(shards, name, metadata) for name in metadata["splits"][split]["shards"]
    ]


def local_shard_file(shards: str, name: str, metadata: ShardMetadata) -> str:
    """Local path of one shard file, copied from GCS into the cache when needed."""
    # keyed by the shards' location and metadata: re-sharded data is fetched again
    version = hashlib.sha256((shards + json.dumps(metadata, sort_keys=True)).encode())
    return storage.cached_copy(storage.join(shards, name), version.hexdigest())


def _parser(metadata: ShardMetadata, with_ids: bool) -> Any:
    """A function from one serialised record (glasses.data.shard_format.encode_record) to
    (image, label) or a dict with its id too."""
    import tensorflow as tf

    shape = metadata["image_shape"]
    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "id": tf.io.FixedLenFeature([], tf.string),
    }

    def parse(record: Any) -> Any:
        example = tf.io.parse_single_example(record, spec)
        image = tf.reshape(tf.io.decode_raw(example["image"], tf.uint8), shape)
        label = tf.cast(example["label"], tf.float32)
        if with_ids:
            return {"image": image, "label": label, "id": example["id"]}
        return image, label

    return parse


def shard_file_batches(path: str, metadata: ShardMetadata, batch_size: int) -> Any:
    """Batches of ``{"image", "label", "id"}`` from one local shard file, in record order:
    score reads shard by shard, so each shard is one resumable part of its work."""
    import tensorflow as tf

    compression = "GZIP" if metadata["compression"] == "GZIP" else ""
    ds = tf.data.TFRecordDataset(path, compression_type=compression)
    ds = ds.map(_parser(metadata, with_ids=True), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size).prefetch(AUTOTUNE)


def make_dataset(
    shards: str,
    split: str,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = defaults.SEED,
    with_ids: bool = False,
    cache: bool = True,
    epochs: int | None = None,
) -> Any:
    """Batches of (uint8 images [B, R, R, 3], float32 labels [B]) from one split.

    With ``shuffle`` and ``epochs``, that many epochs one after the other, each in an order of
    its own that depends only on the seed and the epoch (:func:`epoch_schedule`).

    With ``with_ids`` the element is a dict ``{"image", "label", "id"}`` instead, for scoring
    and reports. Labels of unlabelled records are -1.
    """
    import tensorflow as tf

    metadata = read_metadata(shards)
    files = local_shard_files(shards, split, metadata)
    compression = "GZIP" if metadata["compression"] == "GZIP" else ""
    parse = _parser(metadata, with_ids)

    ds = tf.data.Dataset.from_tensor_slices(tf.constant(files, dtype=tf.string))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type=compression),
        cycle_length=max(1, min(len(files), 4)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,  # the same seed gives the same order: train is repeatable
    )
    ds = ds.map(parse, num_parallel_calls=AUTOTUNE, deterministic=True)
    # the record count is known: telling tf.data lets Keras size epochs and progress up front
    ds = ds.apply(
        tf.data.experimental.assert_cardinality(int(metadata["splits"][split]["records"]))
    )
    if cache:
        ds = ds.cache()
        # Fill the cache now. Keras ends an epoch after exactly `steps` batches, never reading
        # to the end, and tf.data throws away a cache that was not read to its end: without
        # this every epoch would read and parse the shards again (27 % of training time).
        for _ in ds.batch(1024):
            pass
    if shuffle and epochs is not None:
        return epoch_schedule(ds, int(metadata["splits"][split]["records"]), batch_size, seed,
                              epochs)  # fmt: skip
    if shuffle:
        records = int(metadata["splits"][split]["records"])
        ds = ds.shuffle(max(1, min(records, 10_000)), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(AUTOTUNE)


def epoch_schedule(records: Any, count: int, batch_size: int, seed: int, epochs: int) -> Any:
    """``epochs`` epochs of ``records`` one after the other, each shuffled by a seed of its
    own (from ``seed`` and the epoch's number) and batched: epoch e's order depends on nothing
    but (seed, e), so a run resumed at epoch e skips ``e * steps_per_epoch(...)`` batches
    and sees what a run never interrupted saw (glasses.model.backup). (``reshuffle_each_
    iteration`` draws each epoch's order from how often the dataset was iterated in this
    process: a resumed run started the sequence again.)"""
    buffer = max(1, min(count, 10_000))

    def epoch(e: int) -> Any:
        shuffled = records.shuffle(buffer, seed=seed * 100_003 + e, reshuffle_each_iteration=False)
        return shuffled.batch(batch_size)

    ds = epoch(0)
    for e in range(1, epochs):
        ds = ds.concatenate(epoch(e))
    return ds.prefetch(AUTOTUNE)


def steps_per_epoch(count: int, batch_size: int) -> int:
    """Batches in an epoch of ``count`` records (the last one may be short)."""
    return -(-count // batch_size)


def mixup(dataset: Any, alpha: float, seed: int) -> Any:
    """Mix every batch with a shuffled copy of itself (Zhang et al., 2018): images and labels
    blended by lambda ~ Beta(alpha, alpha), kept >= 0.5 so each face stays mostly itself.

    Binary cross-entropy against the blended label still; what changes is that a mislabelled
    face is never learned on its own, which keeps the model from memorising wrong labels.
    Images stay uint8 (rounded), as the model takes them.
    """
    import tensorflow as tf

    def mix(images: Any, labels: Any) -> Any:
        n = tf.shape(images)[0]
        a = tf.random.gamma([n], alpha, seed=seed)
        b = tf.random.gamma([n], alpha, seed=seed + 1)
        lam = a / (a + b)
        lam = tf.maximum(lam, 1.0 - lam)
        order = tf.random.shuffle(tf.range(n), seed=seed + 2)
        x = tf.cast(images, tf.float32)
        mixed = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * tf.gather(x, order)
        y = lam * labels + (1 - lam) * tf.gather(labels, order)
        return tf.cast(tf.round(mixed), tf.uint8), y

    return dataset.map(mix, num_parallel_calls=AUTOTUNE)


def read_arrays(shards: str, split: str) -> tuple[Any, Any, list[int]]:
    """A whole split in memory: uint8 images, float32 labels and integer ids, in record order
    (the audit trains one model per fold on re-cut subsets of the labelled faces)."""
    import numpy as np

    images, labels, ids = [], [], []  # type: list[Any], list[Any], list[int]
    for batch in make_dataset(shards, split, 512, with_ids=True, cache=False):
        images.append(batch["image"].numpy())
        labels.append(batch["label"].numpy())
        ids.extend(int(i) for i in batch["id"].numpy())
    if not images:
        shape = read_metadata(shards)["image_shape"]
        return np.zeros((0, *shape), np.uint8), np.zeros((0,), np.float32), []
    return np.concatenate(images), np.concatenate(labels), ids


def from_arrays(images: Any, labels: Any, batch_size: int, *, shuffle: bool, seed: int) -> Any:
    """Batches of (images, labels) from arrays, shuffled each epoch as make_dataset shuffles."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(max(1, len(labels)), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(AUTOTUNE)
