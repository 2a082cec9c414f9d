"""Faults survived, counted: every step on a flaky store, and steps killed at random writes.

``python benchmarks/faults.py [--rates 0.05 0.15] [--fault-seeds 0 1] [--kills 10]``
(``make bench-faults``), on 120 synthetic faces and a tiny network:

1. every step that reads or writes gs:// (glasses.testing.run_every_step) behind
   glasses.testing.FaultyStore at each fault rate and seed, against one fault-free run: the
   faults injected and the steps whose outputs are identical;
2. shard, score, an audit fold and train (local and gs://), each SIGKILLed at ``--kills``
   seeded random writes ($GLASSES_KILL_AT_WRITE) and run again (train resumes from its
   backup): how many reruns wrote what a run never killed writes (a model: its weights).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glasses import storage, synth, testing

GLASSES = str(Path(sys.executable).with_name("glasses"))
BUCKET = "glasses-faults"
KILL_RANGE = 20  # kill points are drawn from the first writes; each step writes about as many
STEPS = ("ingested", "shards", "tune", "model", "evaluation", "scores", "audit", "registry")


def _model_version(root: str) -> str:
    return str(json.loads(storage.read_text(f"{root}/scores/score_report.json"))["model_version"])


def flaky_store(raw: str, rates: list[float], seeds: list[int]) -> None:
    print("every step on a flaky store (faults injected; outputs identical to the fault-free run)")
    testing.run_every_step(f"gs://{BUCKET}/fault-free", raw)
    clean = testing.output_digests(
        f"gs://{BUCKET}/fault-free", _model_version(f"gs://{BUCKET}/fault-free")
    )
    for rate in rates:
        for seed in seeds:
            root = f"gs://{BUCKET}/faulty-{rate}-{seed}"
            start = time.perf_counter()
            with testing.faulty_gcs(rate, seed=seed) as store:
                testing.run_every_step(root, raw)
            took = time.perf_counter() - start
            differ = testing.differences(clean, testing.output_digests(root, _model_version(root)))
            same = [s for s in STEPS if not any(n.startswith(s + "/") for n in differ)]
            faults = store.log.counts()
            print(f"  rate {rate:.2f} seed {seed}: {sum(faults.values())} faults in "
                  f"{len(store.log.requests)} requests {faults}; identical: {len(same)} of "
                  f"{len(STEPS)} steps; {took:.0f} s")  # fmt: skip


def _run(command: list[str], kill_at: int | None = None) -> int:
    env = dict(os.environ)
    if kill_at is not None:
        env[storage.KILL_AT_WRITE] = str(kill_at)
    done = subprocess.run([GLASSES, *command], env=env, capture_output=True, timeout=600)
    return done.returncode


def kill_points(inputs: dict[str, str], work: str, kills: int, seed: int) -> None:
    print("killed at a random write (SIGKILL), then run again")
    rng = random.Random(seed)
    for step, where in [("shard", "local"), ("shard", "gcs"), ("score", "local"),
                        ("score", "gcs"), ("audit", "local"), ("audit", "gcs"),
                        ("train", "local"), ("train", "gcs")]:  # fmt: skip
        root = f"gs://{BUCKET}/kills-{step}" if where == "gcs" else f"{work}/kills-{step}"
        paths = dict(inputs)
        if where == "gcs":
            for name in ("shards", "model"):
                paths[name] = storage.join(root, name)
                storage.copy_tree(inputs[name], paths[name])
        whole = storage.join(root, "whole")
        assert _run(testing.step_command(step, paths, whole)) == 0
        expected = testing.output_digests(whole)
        survived = reached = 0
        points = sorted(rng.sample(range(1, KILL_RANGE + 1), kills))
        for i, point in enumerate(points):
            out = storage.join(root, f"killed-{i}")
            if _run(testing.step_command(step, paths, out), kill_at=point) != -9:
                continue  # the step wrote fewer than `point` times: not a kill point
            reached += 1
            if _run(testing.step_command(step, paths, out)) != 0:
                continue
            # a killed local write may leave its spool file beside the outputs
            survived += not testing.differences(expected, testing.output_digests(out), ".tmp-")
        print(f"  {step:5s} {where:5s}: kill points {points}: {reached} reached, "
              f"{survived} of {reached} identical outputs")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.15])
    parser.add_argument("--fault-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--kills", type=int, default=10, help="kill points per step and place")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("flaky", "kills"), help="one half of the benchmark")
    args = parser.parse_args()
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard
    from glasses.model.train import train

    with tempfile.TemporaryDirectory() as work, testing.gcs_emulator(BUCKET):
        synth.synth(f"{work}/raw", count=120, size=64, label_noise=0.1, seed=3, workers=1)
        ingest(f"{work}/raw", f"{work}/ingested")
        shard(f"{work}/ingested/manifest.csv", f"{work}/shards", resolution=32, workers=1)
        train(f"{work}/shards", f"{work}/model", hparams=testing.tiny_hparams(), epochs=2)
        Path(f"{work}/hparams.json").write_text(testing.tiny_hparams().to_json())
        raw = f"gs://{BUCKET}/raw"
        storage.copy_tree(f"{work}/raw", raw)
        if args.only != "kills":
            flaky_store(raw, args.rates, args.fault_seeds)
        inputs = {"manifest": f"{work}/ingested/manifest.csv", "raw": f"{work}/raw",
                  "shards": f"{work}/shards", "model": f"{work}/model",
                  "hparams": f"{work}/hparams.json"}  # fmt: skip
        if args.only != "flaky":
            kill_points(inputs, work, args.kills, args.seed)


if __name__ == "__main__":
    main()
