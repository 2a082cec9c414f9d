"""Shared fixtures: a real GCS-API server on loopback, and small real datasets."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from glasses import synth, testing

BUCKET = "glasses-test"


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """A real GCS JSON-API server on loopback for the whole session."""
    with testing.gcs_emulator(BUCKET) as host:
        yield host


@pytest.fixture
def gcs_root(gcs_emulator: str) -> str:
    """A fresh, empty gs:// prefix for one test."""
    return f"gs://{BUCKET}/{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["local", "gcs"])
def any_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test once on a local folder and once on the emulator."""
    if request.param == "local":
        return str(tmp_path / "root")
    return str(request.getfixturevalue("gcs_root"))


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 real synthetic faces at 64 px in the Kaggle layout, 10 % label noise."""
    out = tmp_path_factory.mktemp("synth") / "raw"
    synth.synth(str(out), count=120, size=64, label_noise=0.1, seed=3, workers=1)
    return out


@pytest.fixture(scope="session")
def small_manifest(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ingest's manifest of ``small_dataset``."""
    from glasses.data.ingest import ingest

    out = tmp_path_factory.mktemp("ingested")
    ingest(str(small_dataset), str(out))
    return out / "manifest.csv"


@pytest.fixture(scope="session")
def train_shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shards at 64 px of 1000 real synthetic faces (the last 100 unlabelled): enough to learn."""
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard

    root = tmp_path_factory.mktemp("train-data")
    synth.synth(str(root / "raw"), count=1000, size=64, seed=5, workers=1)
    ingest(str(root / "raw"), str(root / "ingested"))
    shard(str(root / "ingested" / "manifest.csv"), str(root / "shards"), resolution=64, workers=1)
    return root / "shards"


@pytest.fixture(scope="session")
def trained_model(train_shards: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CNN trained for a few epochs on ``train_shards``: clearly better than chance."""
    from glasses.model.hparams import HParams
    from glasses.model.train import train

    out = tmp_path_factory.mktemp("model")
    small = HParams(conv_blocks=2, filters=16, dense_units=32, dropout=0.3, batch_size=16)
    train(str(train_shards), str(out), hparams=small, epochs=8, patience=8, seed=1)
    return out


@pytest.fixture(scope="session")
def noisy_shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, int]]:
    """1000 faces at 64 px, 15 % of the labels flipped, and the true labels (the audit and
    the noisy-label default are measured on it)."""
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard

    root = tmp_path_factory.mktemp("audit-data")
    synth.synth(str(root / "raw"), count=1000, size=128, unlabelled_fraction=0.05,
                label_noise=0.15, seed=11, workers=2)  # fmt: skip
    ingest(str(root / "raw"), str(root / "ingested"))
    shard(str(root / "ingested" / "manifest.csv"), str(root / "shards"), resolution=64, workers=2)
    with (root / "raw" / "ground_truth.csv").open() as f:
        truth = {int(r["id"]): int(r["true_label"]) for r in csv.DictReader(f)}
    return root / "shards", truth


@pytest.fixture(scope="session")
def instance_noisy_shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, int]]:
    """The same 1000 faces with 15 % of the labels flipped where the faces are hard
    (``synth --noise-model instance``), and the true labels."""
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard

    root = tmp_path_factory.mktemp("instance-data")
    synth.synth(str(root / "raw"), count=1000, size=128, unlabelled_fraction=0.05,
                label_noise=0.15, seed=11, workers=2, noise_model="instance")  # fmt: skip
    ingest(str(root / "raw"), str(root / "ingested"))
    shard(str(root / "ingested" / "manifest.csv"), str(root / "shards"), resolution=64, workers=2)
    with (root / "raw" / "ground_truth.csv").open() as f:
        truth = {int(r["id"]): int(r["true_label"]) for r in csv.DictReader(f)}
    return root / "shards", truth


# fixtures that train a model, run the DAG, or make data only those tests use: a test that
# asks for one is slow and must say so where it stands (@pytest.mark.slow)
SLOW_FIXTURES = {"trained_model", "train_shards", "first_run", "audited", "noisy_shards",
                 "instance_noisy_shards", "audit_runs", "evaluated", "trained",
                 "studied"}  # fmt: skip
# with pytest-xdist (the tests run on every core), the tests that share an expensive session
# fixture run in one worker, so that each fixture is made once; so do the quick tests that
# import TensorFlow (5 s a process), away from those that compile the DAG (see FIRST)
# (the first fixture of this list that a test asks for names its group; the audit, the longest,
# has a worker of its own)
GROUPS = {"audited": "audited", "audit_runs": "dag", "first_run": "dag", "noisy_shards": "noisy",
          "instance_noisy_shards": "instance", "trained_model": "trained",
          "train_shards": "trained"}  # fmt: skip
TENSORFLOW_MODULES = {"test_model", "test_noisy_labels", "test_train", "test_shard",
                      "test_audit", "test_tune"}  # fmt: skip
# modules long enough for a worker of their own (their module fixtures made once there)
MODULE_GROUPS = {"test_faults": "faults", "test_experiments": "experiments"}
# KFP calls inspect.stack() for every resource it sets on a task, which costs several times
# more once TensorFlow's thousands of modules are loaded: the tests that compile the DAG run
# first, before any test imports TensorFlow
FIRST = ("test_pipeline",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that asks for a slow fixture is marked slow (`pytest -m "not slow"` is the
    quick loop over every module's logic); `make test` runs everything but the image tests,
    which run only when asked for by name (`-m image`: make test-image)."""
    unmarked = [
        item.nodeid
        for item in items
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
        and not item.get_closest_marker("slow")
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use a slow fixture but are not marked @pytest.mark.slow: "
            + ", ".join(unmarked)
        )
    for item in items:
        names = getattr(item, "fixturenames", ())
        group = next((group for name, group in GROUPS.items() if name in names), None)
        module = item.module.__name__ if item.module else ""
        if group is None and module in MODULE_GROUPS:
            group = MODULE_GROUPS[module]
        if group is None and module in TENSORFLOW_MODULES:
            group = "tensorflow"
        if group is None and module in FIRST:
            group = "kfp"
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: (item.module.__name__ if item.module else "") not in FIRST)
    if "image" in (config.getoption("-m") or ""):
        return
    image = [item for item in items if item.get_closest_marker("image")]
    if image:
        config.hook.pytest_deselected(items=image)
        items[:] = [item for item in items if not item.get_closest_marker("image")]
