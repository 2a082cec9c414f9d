"""Training throughput from the shards against the same images held in memory.

The input pipeline (read, parse, cache, shuffle, batch, prefetch) should cost under 10 %:
the model, not the data, must be the bottleneck. Also measured: what op determinism
(``tf.config.experimental.enable_op_determinism``, on in glasses.train) costs. Each
measurement trains the default model in a fresh process (a second model in the same process
runs up to 40 % slower, which would swamp the difference); modes alternate and each runs
twice, best of two. The first epoch (tracing,
cache filling) is not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from glasses import synth
from glasses.data.ingest import ingest
from glasses.data.shard import shard
from glasses.model.hparams import HParams

COUNT = 1000
EPOCHS = 4

_MEASURE = """
import json, sys, time
import keras, numpy as np, tensorflow as tf
from glasses.data.dataset import make_dataset
from glasses.model.hparams import HParams
from glasses.model.network import build_model
shards, mode, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
batch = HParams().batch_size
dataset = make_dataset(shards, "train", batch, shuffle=True)
records = sum(int(x.shape[0]) for x, _ in make_dataset(shards, "train", 256))
if mode == "deterministic":
    tf.config.experimental.enable_op_determinism()
if mode == "memory":
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in make_dataset(shards, "train", 256)])
    x, y = np.concatenate(xs), np.concatenate(ys)
    dataset = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
               .batch(batch).prefetch(tf.data.AUTOTUNE))
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.start = time.perf_counter()
timer = Timer()
keras.utils.set_random_seed(0)
build_model(HParams(), 64).fit(dataset, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)
rate = records * (epochs - 1) / (time.perf_counter() - timer.start)
print(json.dumps({"rate": rate, "records": records}))
"""


def _measure(shards: str, mode: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, shards, mode, str(EPOCHS)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        synth.synth(raw, count=COUNT, size=128, unlabelled_fraction=0.0, seed=2)
        ingest(raw, os.path.join(tmp, "ingested"))
        shards = os.path.join(tmp, "shards")
        shard(os.path.join(tmp, "ingested", "manifest.csv"), shards, resolution=64)
        runs: dict[str, list[float]] = {"shards": [], "memory": [], "deterministic": []}
        records = 0.0
        order = ("shards", "memory", "deterministic", "deterministic", "memory", "shards")
        for mode in order:
            figures = _measure(shards, mode)
            runs[mode].append(figures["rate"])
            records = figures["records"]
    from_shards, from_memory = max(runs["shards"]), max(runs["memory"])
    deterministic = max(runs["deterministic"])
    print(f"train default model at 64 px, {records:.0f} images, batch {HParams().batch_size}, CPU:")
    print(f"  from shards:     {from_shards:7.1f} images/s (best of 2 fresh processes)")
    print(f"  from memory:     {from_memory:7.1f} images/s (best of 2 fresh processes)")
    print(f"  input pipeline cost: {1 - from_shards / from_memory:6.1%} (goal < 10 %)")
    print(f"  from shards, op determinism on: {deterministic:7.1f} images/s; "
          f"{deterministic / from_shards:.2f} of the rate without it")  # fmt: skip


if __name__ == "__main__":
    main()
