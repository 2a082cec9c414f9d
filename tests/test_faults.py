"""Faults survived: every step on gs:// behind a proxy that answers 429 and 503, resets
connections, cuts answers short and stalls (glasses.testing.FaultyStore), against the same
step fault-free; and the faults no retry may hide end in one line naming the object."""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glasses import storage, testing
from glasses.model.hparams import HParams

BUCKET = "glasses-test"  # conftest.py's
GLASSES = str(Path(sys.executable).with_name("glasses"))
TINY = HParams(conv_blocks=2, filters=8, dense_units=16)


def test_every_storage_call_survives_every_kind_of_fault(gcs_root: str) -> None:
    """A fifth of the requests fail, each kind of fault at least once: every call still
    returns what a fault-free one does (a large file goes up as a resumable upload)."""
    payloads = {f"f{i}": random.Random(i).randbytes(3000 + i) for i in range(12)}
    payloads["big"] = random.Random(99).randbytes(9 * 2**20)  # over the one-request limit
    with testing.faulty_gcs(0.2, seed=3) as store:
        for name, data in payloads.items():
            uri = storage.join(gcs_root, "a", name)
            if name == "big":
                with storage.open_write(uri) as f:
                    f.write(data)
            else:
                storage.write_bytes(uri, data)
        listed = storage.list_files(storage.join(gcs_root, "a"))
        read = {storage.basename(f.uri): storage.read_bytes(f.uri) for f in listed}
        for name in payloads:
            storage.copy(storage.join(gcs_root, "a", name), storage.join(gcs_root, "b", name))
        copied = storage.copy_tree(storage.join(gcs_root, "b"), storage.join(gcs_root, "c"))
        assert all(storage.exists(storage.join(gcs_root, "c", name)) for name in payloads)
        storage.delete_tree(storage.join(gcs_root, "b"))
    assert read == payloads and [f.size for f in listed] == [len(read[n]) for n in sorted(read)]
    assert copied == len(payloads)
    assert not storage.exists(storage.join(gcs_root, "b", "f0"))
    assert set(store.log.counts()) == set(testing.FAULT_KINDS), store.log.counts()


def test_a_retry_leaves_the_random_stream_as_it_was(gcs_root: str) -> None:
    """A retry's jittered sleep draws from Python's random, which Keras seeds its layers from:
    with it moved, a seeded training run on a flaky network built another model."""
    uri = storage.join(gcs_root, "x")
    storage.write_bytes(uri, b"payload")
    random.seed(7)
    expected = [random.random() for _ in range(3)]
    random.seed(7)
    with testing.faulty_gcs(1.0, seed=0, kinds=("503",)) as store:
        store.rate = 0.5  # every other request fails, so each call retries and then succeeds
        for _ in range(4):
            assert storage.read_bytes(uri) == b"payload"
    assert store.log.faults
    assert [random.random() for _ in range(3)] == expected


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GLASSES, *args], capture_output=True, text=True, timeout=300)


def test_faults_no_retry_may_hide_fail_in_one_line(gcs_root: str, small_dataset: Path) -> None:
    """A 403 and a missing bucket are not retried for two minutes: one line names the object."""
    source = storage.join(gcs_root, "raw")
    storage.copy_tree(str(small_dataset), source)
    with testing.faulty_gcs(0.0, forbidden=("denied",)):
        denied = run_cli("ingest", "--source", source, "--output", f"{gcs_root}/denied")
    assert denied.returncode != 0
    (line,) = denied.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"glasses ingest: error: {gcs_root}/denied/\S+: access denied \(injected\)", line
    )
    missing = run_cli("ingest", "--source", "gs://no-such-bucket/raw", "--output", gcs_root)
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [
        "glasses ingest: error: --source gs://no-such-bucket/raw: nothing there"
        " (gs://no-such-bucket/raw: there is no bucket no-such-bucket)"
    ], missing.stderr


def run_every_step(root: str, raw: str) -> None:
    """Each step that reads or writes gs://, on the tiniest settings that still do the work."""
    from glasses.audit.audit import audit
    from glasses.audit.folds import Settings
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard
    from glasses.evaluation.evaluate import evaluate
    from glasses.model.registry import publish
    from glasses.model.train import train
    from glasses.model.tune import tune
    from glasses.scoring.score import score

    def at(*parts: str) -> str:
        return storage.join(root, *parts)

    ingest(raw, at("ingested"))
    shard(at("ingested", "manifest.csv"), at("shards"), resolution=32, shard_size=40, workers=2)
    tune(at("shards"), at("tune"), max_trials=1, epochs=1, hparams=TINY)
    train(at("shards"), at("model"), hparams=TINY, epochs=2, patience=2)
    evaluate(at("shards"), at("model"), at("evaluation"))
    score(at("model"), raw, at("scores"), workers=2, part_size=40)
    audit(at("shards"), at("audit"), Settings(folds=2, rounds=1, epochs=1, hparams=TINY))
    publish(at("model"), at("registry"))


# what differs between two runs of the same step whatever the network does: clocks, and the
# digests of model.keras's bytes (Keras writes the time it saved into the file)
CHANGING = ("seconds", "time", "date", "published_at", "digest", "version", "model")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not any(c in k for c in CHANGING)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def outputs(root: str) -> dict[str, str]:
    """Every file below ``root``: its bytes' digest, with the root's name taken out; JSON
    without what changes between runs (CHANGING); a model by its weights. TensorBoard's logs,
    the SavedModel export (its files hold ids drawn at export) and the registry's versions
    (named by the clock) are left out; score's predictions show what the model serves, so
    the model's version (its bytes' digest) is taken out of them."""
    import keras

    served = json.loads(storage.read_text(storage.join(root, "scores", "score_report.json")))
    found: dict[str, str] = {}
    for info in storage.list_files(root):
        name = storage.relative(info.uri, root)
        if name.startswith(("model/logs/", "model/export/", "registry/")) or name.endswith(
            "_parts/plan.json"  # its digests name the folders and model.keras's bytes
        ):
            continue
        data = storage.read_bytes(info.uri)
        if name.endswith(".keras"):
            local = storage.cached_copy(info.uri, hashlib.sha256(data).hexdigest())
            weights = keras.models.load_model(local, compile=False).get_weights()
            data = b"".join(w.tobytes() for w in weights)
        elif name.endswith((".json", ".csv", ".html", ".md")):
            text = data.decode().replace(root, "ROOT")
            text = text.replace(served["model_version"], "MODEL")
            if name.endswith(".json"):
                text = json.dumps(_stable(json.loads(text)), sort_keys=True)
            data = text.encode()
        found[name] = hashlib.sha256(data).hexdigest()
    return found


@pytest.mark.slow
def test_every_step_on_a_flaky_store_writes_what_a_fault_free_run_writes(
    gcs_emulator: str, small_dataset: Path
) -> None:
    """5 % of requests fail (every kind): ingest, shard, tune, train, evaluate, score, audit
    and publish end with the outputs of the same steps on a store that never fails."""
    raw = f"gs://{BUCKET}/faults-raw"
    storage.copy_tree(str(small_dataset), raw)
    run_every_step(f"gs://{BUCKET}/fault-free", raw)
    with testing.faulty_gcs(0.05, seed=1) as store:
        run_every_step(f"gs://{BUCKET}/faulty", raw)
    assert len(store.log.faults) >= 20, store.log.counts()
    assert set(store.log.counts()) == set(testing.FAULT_KINDS)
    clean, faulty = outputs(f"gs://{BUCKET}/fault-free"), outputs(f"gs://{BUCKET}/faulty")
    assert sorted(faulty) == sorted(clean)
    assert [n for n in clean if clean[n] != faulty[n]] == []
    versions = [
        storage.list_files(f"gs://{BUCKET}/{run}/registry") for run in ("fault-free", "faulty")
    ]
    assert [len(v) for v in versions] == [len(versions[0])] * 2


@pytest.mark.slow
def test_training_on_a_flaky_store_builds_the_same_model(
    gcs_root: str, small_manifest: Path, tmp_path: Path
) -> None:
    """The same shards and seed, a fifth of the requests failing: the same weights. (Before
    the storage layer kept Python's random stream, the retries' jitter moved it between the
    seed and the model's layers, and the model came out different.)"""
    import keras

    from glasses.data.shard import shard
    from glasses.model.train import train

    shard(str(small_manifest), str(tmp_path / "shards"), resolution=32, workers=1)
    shards = storage.join(gcs_root, "shards")
    storage.copy_tree(str(tmp_path / "shards"), shards)
    train(shards, storage.join(gcs_root, "fault-free"), hparams=TINY, epochs=2, patience=2)
    with testing.faulty_gcs(0.2, seed=2, kinds=("429", "503")) as store:
        train(shards, storage.join(gcs_root, "faulty"), hparams=TINY, epochs=2, patience=2)
    assert store.log.faults
    weights = []
    for run in ("fault-free", "faulty"):
        local = storage.cached_copy(
            storage.join(gcs_root, run, "model.keras"), run + gcs_root[-12:]
        )
        weights.append(keras.models.load_model(local, compile=False).get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
