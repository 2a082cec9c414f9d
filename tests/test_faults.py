"""Faults survived: every step on gs:// behind a proxy that answers 429 and 503, resets
connections, cuts answers short and stalls (glasses.testing.FaultyStore), against the same
step fault-free; and the faults no retry may hide end in one line naming the object."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glasses import storage, testing

BUCKET = "glasses-test"  # conftest.py's
GLASSES = str(Path(sys.executable).with_name("glasses"))
TINY = testing.tiny_hparams()


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


@pytest.mark.slow
def test_every_step_on_a_flaky_store_writes_what_a_fault_free_run_writes(
    gcs_emulator: str, small_dataset: Path
) -> None:
    """5 % of requests fail (every kind): ingest, shard, tune, train, evaluate, score, audit
    and publish end with the outputs of the same steps on a store that never fails."""
    raw = f"gs://{BUCKET}/faults-raw"
    storage.copy_tree(str(small_dataset), raw)
    testing.run_every_step(f"gs://{BUCKET}/fault-free", raw)
    with testing.faulty_gcs(0.05, seed=1) as store:
        testing.run_every_step(f"gs://{BUCKET}/faulty", raw)
    assert len(store.log.faults) >= 20, store.log.counts()
    assert set(store.log.counts()) == set(testing.FAULT_KINDS)
    clean, faulty = (
        testing.output_digests(
            root, json.loads(storage.read_text(f"{root}/scores/score_report.json"))["model_version"]
        )
        for root in (f"gs://{BUCKET}/fault-free", f"gs://{BUCKET}/faulty")
    )
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
    """The same shards and seed, a fifth of the requests failing: the same weights. (The
    retries' jitter drew from Python's random, from which Keras seeded the model's layers
    until build_model seeded them itself: the model came out different.)"""
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


@pytest.fixture(scope="module")
def tiny_inputs(small_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shards at 32 px of the small dataset, a tiny model trained on them, its hparams file."""
    from glasses.data.shard import shard
    from glasses.model.train import train

    root = tmp_path_factory.mktemp("tiny")
    shard(str(small_manifest), str(root / "shards"), resolution=32, workers=1)
    train(str(root / "shards"), str(root / "model"), hparams=TINY, epochs=2, patience=2)
    (root / "hparams.json").write_text(TINY.to_json())
    return root


@pytest.fixture
def cli_inputs(tiny_inputs: Path, small_dataset: Path, small_manifest: Path) -> dict[str, str]:
    """What testing.step_command runs each step on (local paths)."""
    return {"manifest": str(small_manifest), "raw": str(small_dataset),
            "shards": str(tiny_inputs / "shards"), "model": str(tiny_inputs / "model"),
            "hparams": str(tiny_inputs / "hparams.json")}  # fmt: skip


def assert_same_outputs(expected_root: str, root: str, litter: str | None = None) -> None:
    """``root`` holds what ``expected_root`` holds, and besides it at most files whose names
    contain ``litter``."""
    expected, got = testing.output_digests(expected_root), testing.output_digests(root)
    assert testing.differences(expected, got, litter) == []


KILL_POINTS = [("shard", "local", 5), ("shard", "gcs", 9), ("score", "local", 3),
               ("score", "gcs", 6), ("audit", "gcs", 3), ("train", "local", 10),
               ("train", "gcs", 8)]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("step", "where", "kill_at"), KILL_POINTS)
def test_a_worker_killed_mid_write_and_run_again_writes_what_an_uninterrupted_one_does(
    step: str,
    where: str,
    kill_at: int,
    cli_inputs: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """SIGKILL at the step's Nth write (its bytes spooled, not yet in place; a preempted node),
    then the same command again: the outputs of a run never killed (train: resumed from its
    backup after an epoch or two, the same weights and history)."""
    inputs = dict(cli_inputs)
    root = str(tmp_path)
    if where == "gcs":
        root = request.getfixturevalue("gcs_root")
        for name in ("shards", "model"):
            storage.copy_tree(inputs[name], storage.join(root, name))
            inputs[name] = storage.join(root, name)
    whole, killed = storage.join(root, "whole"), storage.join(root, "killed")
    assert run_cli(*testing.step_command(step, inputs, whole)).returncode == 0
    killed_then_run_again(testing.step_command(step, inputs, killed), kill_at)
    if step == "train":  # the kill landed after the first epoch's backup, before the last
        summary = json.loads(storage.read_text(storage.join(killed, "training.json")))
        assert 1 <= summary["resumed_from_epoch"] < summary["epochs_run"]
        assert not storage.exists(storage.join(killed, "backup", "latest.json"))
    assert_same_outputs(whole, killed, litter=".tmp-")  # a killed local write's spool file


def killed_then_run_again(command: list[str], kill_at: int) -> None:
    env = {**os.environ, storage.KILL_AT_WRITE: str(kill_at)}
    died = subprocess.run([GLASSES, *command], env=env, capture_output=True, timeout=300)
    assert died.returncode == -9, "the kill point is past the step's last write"
    again = run_cli(*command)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("where", ["local", "gcs"])
@pytest.mark.parametrize("step", ["shard", "score"])
@pytest.mark.slow
def test_duplicate_workers_and_a_racing_finish_write_what_one_run_does(
    step: str,
    where: str,
    cli_inputs: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Both workers of two, each twice at once (a KFP retry beside a slow first attempt):
    four processes write the same parts and race to finish; the outputs are one run's."""
    inputs = cli_inputs
    root = str(tmp_path) if where == "local" else request.getfixturevalue("gcs_root")
    whole, raced = storage.join(root, "whole"), storage.join(root, "raced")
    assert run_cli(*testing.step_command(step, inputs, whole)).returncode == 0
    workers = [
        subprocess.Popen(
            [
                GLASSES,
                *testing.step_command(step, inputs, raced),
                "--num-workers",
                "2",
                "--worker-index",
                str(i),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1, 0, 1)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    assert_same_outputs(whole, raced)


class Preempted(Exception):
    pass


@pytest.mark.slow
def test_training_killed_after_early_stopping_ended_it_trains_no_further(
    tiny_inputs: Path, tmp_path: Path
) -> None:
    """Killed after the epoch that ended the run was committed, before the outputs: run
    again, it trains no epoch more and writes the model of a run never killed."""
    import dataclasses

    import keras

    from glasses.model.train import train

    hp = dataclasses.replace(TINY, drop_noisy=0.0)  # early stopping from the first epoch
    shards = str(tiny_inputs / "shards")
    whole = train(shards, str(tmp_path / "whole"), hparams=hp, epochs=12, patience=1)
    assert whole.epochs_run < 12  # early stopping ended it

    class KillWhenStopped(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.model.stop_training:  # after the history keeper committed the epoch
                raise Preempted

    out = tmp_path / "killed"
    with pytest.raises(Preempted):
        train(shards, str(out), hparams=hp, epochs=12, patience=1, callbacks=[KillWhenStopped()])
    again = train(shards, str(out), hparams=hp, epochs=12, patience=1)
    assert again.resumed_from_epoch == again.epochs_run == whole.epochs_run
    assert again.epoch_kept == whole.epoch_kept
    weights = [
        keras.models.load_model(tmp_path / run / "model.keras", compile=False).get_weights()
        for run in ("whole", "killed")
    ]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
