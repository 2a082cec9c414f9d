"""Training throughput from the shards against the same images held in memory.

The input pipeline (read, parse, cache, shuffle, batch, prefetch) should cost under 10 %:
the model, not the data, must be the bottleneck. Both runs train the default model for the
same epochs on the same records; the first epoch (tracing, cache filling) is not timed.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from glasses import synth
from glasses.dataset import make_dataset
from glasses.ingest import ingest
from glasses.model import HParams, build_model
from glasses.shard import shard

COUNT = 1000
EPOCHS = 4


def _images_per_second(dataset: object, records: int) -> float:
    import keras

    class Timer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if epoch == 1:
                self.start = time.perf_counter()

    timer = Timer()
    keras.utils.set_random_seed(0)
    model = build_model(HParams(), 64)
    model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=[timer], shuffle=False)
    return records * (EPOCHS - 1) / (time.perf_counter() - timer.start)


def main() -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        synth.synth(
            os.path.join(tmp, "raw"), count=COUNT, size=128, unlabelled_fraction=0.0, seed=2
        )
        ingest(os.path.join(tmp, "raw"), os.path.join(tmp, "ingested"))
        shards = os.path.join(tmp, "shards")
        shard(os.path.join(tmp, "ingested", "manifest.csv"), shards, resolution=64)
        batch = HParams().batch_size
        from_shards = make_dataset(shards, "train", batch, shuffle=True)
        images, labels = [], []
        for x, y in make_dataset(shards, "train", 256):
            images.append(x.numpy())
            labels.append(y.numpy())
        x_all, y_all = np.concatenate(images), np.concatenate(labels)
        in_memory = (
            tf.data.Dataset.from_tensor_slices((x_all, y_all))
            .shuffle(len(x_all), seed=0)
            .batch(batch)
            .prefetch(tf.data.AUTOTUNE)
        )
        memory_rate = _images_per_second(in_memory, len(x_all))
        shard_rate = _images_per_second(from_shards, len(x_all))
    print(f"train default model at 64 px, {len(x_all)} images, batch {batch}, CPU:")
    print(f"  from shards:     {shard_rate:7.1f} images/s")
    print(f"  from memory:     {memory_rate:7.1f} images/s")
    print(f"  input pipeline cost: {1 - shard_rate / memory_rate:6.1%} (goal < 10 %)")


if __name__ == "__main__":
    main()
