"""Shard: round trip, every rejection, fan-out = one worker byte for byte, crash and rerun, GCS."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glasses import storage
from glasses.data.dataset import make_dataset
from glasses.data.images import ImageRejected, decode_and_resize
from glasses.data.manifest import ManifestRow, read_manifest
from glasses.data.shard import plan_shards, shard
from glasses.data.shard_format import read_metadata
from glasses.errors import InputError

RES = 32


def read_records(path: Path | str, compression: str = "") -> list[dict]:
    import tensorflow as tf

    out = []
    for raw in tf.data.TFRecordDataset(str(path), compression_type=compression):
        f = tf.train.Example.FromString(raw.numpy()).features.feature
        out.append(
            {
                "image": f["image"].bytes_list.value[0],
                "label": f["label"].int64_list.value[0],
                "id": f["id"].bytes_list.value[0].decode(),
            }
        )
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def write_manifest(path: Path, rows: list[tuple[int, str, str, str]]) -> Path:
    lines = ["id,uri,label,split", *(f"{i},{u},{label},{s}" for i, u, label, s in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_round_trip_pixels_labels_and_ids(small_manifest: Path, tmp_path: Path) -> None:
    summary = shard(str(small_manifest), str(tmp_path), resolution=RES, shard_size=25, workers=2)
    assert summary.complete and summary.records == 120 and summary.rejected == 0
    rows = {str(r.id): r for r in read_manifest(str(small_manifest))}
    metadata = read_metadata(str(tmp_path))
    seen = 0
    for split, info in metadata["splits"].items():
        for name in info["shards"]:
            for record in read_records(tmp_path / name):
                row = rows[record["id"]]
                assert row.split == split
                assert record["label"] == (-1 if row.label is None else row.label)
                expected = decode_and_resize(Path(row.uri).read_bytes(), RES)
                assert record["image"] == expected.tobytes()
                seen += 1
        labelled = [r for r in rows.values() if r.split == split]
        assert info["records"] == len(labelled)
    assert seen == 120
    assert metadata["image_shape"] == [RES, RES, 3] and metadata["image_encoding"] == "raw"
    assert metadata["total_bytes"] == sum(p.stat().st_size for p in tmp_path.glob("*.tfrecord"))
    report = json.loads((tmp_path / "shard_report.json").read_text())
    assert report == {"manifest_rows": 120, "records_written": 120, "dropped_by_review": 0,
                      "rejected": []}  # fmt: skip


def test_shard_layout_is_a_function_of_the_manifest() -> None:
    rows = [ManifestRow(i, f"/x/{i}.png", i % 2, "train") for i in range(4500)]
    rows += [ManifestRow(5000 + i, f"/x/{i}.png", None, "unlabelled") for i in range(500)]
    plans = plan_shards(rows, 450)
    assert [p.name for p in plans][:2] == [
        "train-00000-of-00010.tfrecord",
        "train-00001-of-00010.tfrecord",
    ]
    assert plans[-1].name == "unlabelled-00001-of-00002.tfrecord"
    assert sum(len(p.rows) for p in plans) == 5000
    assert plan_shards(rows, 450, "GZIP")[0].name.endswith(".tfrecord.gz")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_every_rejection_kind_and_every_image_mode(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    good = _png(Image.new("RGB", (64, 64), (200, 10, 10)))
    files = {
        1: good,
        2: good[: len(good) // 2],  # truncated
        3: b"",  # empty
        4: b"id,glasses\n1,0\n",  # not an image
        5: _png(Image.new("1", (9000, 9000))),  # 81 Mpx in a few KB: a decompression bomb
        7: _png(Image.new("RGBA", (64, 64), (0, 200, 0, 128))),
        8: _png(Image.new("L", (64, 64), 77)),
        9: _png(Image.new("P", (64, 64))),
        10: _png(Image.new("RGB", (96, 64), (0, 0, 255))),  # not square: centre-cropped
    }
    for i, data in files.items():
        (src / f"face-{i}.png").write_bytes(data)
    rows = [(i, str(src / f"face-{i}.png"), "1", "train") for i in [*files, 6]]  # 6: missing
    manifest = write_manifest(tmp_path / "manifest.csv", rows)
    summary = shard(str(manifest), str(tmp_path / "out"), resolution=16, workers=1)
    report = json.loads((tmp_path / "out" / "shard_report.json").read_text())
    reasons = {r["id"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons, key=int) == ["2", "3", "4", "5", "6"]
    assert "truncated or corrupt" in reasons["2"]
    assert "empty file" in reasons["3"]
    assert "not an image" in reasons["4"]
    assert "decompression bomb" in reasons["5"]
    assert reasons["6"] == "file not found"
    assert report["manifest_rows"] == 10 == report["records_written"] + len(report["rejected"])
    assert summary.records == 5
    shard_file = tmp_path / "out" / "train-00000-of-00001.tfrecord"
    records = {
        r["id"]: np.frombuffer(r["image"], np.uint8).reshape(16, 16, 3)
        for r in read_records(shard_file)
    }
    assert sorted(records, key=int) == ["1", "7", "8", "9", "10"]
    assert (records["8"] == 77).all()  # grayscale -> RGB
    assert (records["10"] == [0, 0, 255]).all()


def test_decode_and_resize_caps_pixels_from_the_header() -> None:
    big = _png(Image.new("RGB", (300, 300)))
    with pytest.raises(ImageRejected, match="over the cap of 50000"):
        decode_and_resize(big, 32, max_pixels=50_000)
    assert decode_and_resize(big, 32).shape == (32, 32, 3)


def test_k_workers_write_exactly_what_one_writes(small_manifest: Path, tmp_path: Path) -> None:
    shard(str(small_manifest), str(tmp_path / "one"), resolution=RES, shard_size=20, workers=1)
    for index in (2, 0, 1):  # any order; the last one to finish writes metadata.json
        summary = shard(
            str(small_manifest), str(tmp_path / "three"), resolution=RES, shard_size=20,
            workers=1, num_workers=3, worker_index=index,
        )  # fmt: skip
        assert summary.complete == (index == 1)
    assert tree(tmp_path / "one") == tree(tmp_path / "three")


def test_rerun_after_a_crash_finishes_with_identical_files(
    small_manifest: Path, tmp_path: Path
) -> None:
    clean = tmp_path / "clean"
    shard(str(small_manifest), str(clean), resolution=RES, shard_size=20, workers=1)
    # crash on the 50th image: its path is a folder, so reading it fails with an OSError
    rows = read_manifest(str(small_manifest))
    victim = Path(rows[49].uri)
    saved = tmp_path / "saved.png"
    shutil.move(victim, saved)
    victim.mkdir()
    crashed = tmp_path / "crashed"
    try:
        with pytest.raises(IsADirectoryError):
            shard(str(small_manifest), str(crashed), resolution=RES, shard_size=20, workers=1)
    finally:
        victim.rmdir()
        shutil.move(saved, victim)
    written = sorted(p.name for p in crashed.glob("*.tfrecord"))
    assert written and len(written) < 7  # some shards done, the crashed one not at its name
    assert not (crashed / "metadata.json").exists()
    summary = shard(str(small_manifest), str(crashed), resolution=RES, shard_size=20, workers=1)
    assert summary.complete
    after = {k: v for k, v in tree(crashed).items() if not Path(k).name.startswith(".")}
    assert after == tree(clean)


def test_bad_arguments(small_manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"resolution must be in \[8, 1024\], got 4"):
        shard(str(small_manifest), str(tmp_path), resolution=4)
    with pytest.raises(InputError, match="worker_index must be in"):
        shard(str(small_manifest), str(tmp_path), num_workers=2, worker_index=2)
    with pytest.raises(InputError, match=r"metadata\.json not found"):
        read_metadata(str(tmp_path))


def test_reader_shapes_dtypes_and_counts(small_manifest: Path, tmp_path: Path) -> None:
    shard(str(small_manifest), str(tmp_path), resolution=RES, shard_size=16, compression="GZIP")
    metadata = read_metadata(str(tmp_path))
    for split in ("train", "val", "test", "unlabelled"):
        total = 0
        for images, labels in make_dataset(str(tmp_path), split, batch_size=8):
            assert images.dtype.name == "uint8" and images.shape[1:] == (RES, RES, 3)
            assert labels.dtype.name == "float32"
            if split == "unlabelled":
                assert set(labels.numpy()) == {-1.0}
            total += int(images.shape[0])
        assert total == metadata["splits"][split]["records"]
    ids = [
        i.decode()
        for batch in make_dataset(str(tmp_path), "train", 8, shuffle=True, with_ids=True)
        for i in batch["id"].numpy()
    ]
    assert len(ids) == len(set(ids)) == metadata["splits"]["train"]["records"]


def test_gcs_in_and_out(
    small_dataset: Path, small_manifest: Path, gcs_root: str, tmp_path: Path
) -> None:
    from glasses.data.ingest import ingest

    raw = storage.join(gcs_root, "raw")
    for path in small_dataset.rglob("face-*.png"):
        storage.copy(str(path), storage.join(raw, path.name))
    storage.copy(str(small_dataset / "train.csv"), storage.join(raw, "train.csv"))
    storage.copy(str(small_dataset / "test.csv"), storage.join(raw, "test.csv"))
    ingest(raw, storage.join(gcs_root, "ingested"))
    out = storage.join(gcs_root, "shards")
    summary = shard(
        storage.join(gcs_root, "ingested", "manifest.csv"), out, resolution=RES, shard_size=30
    )
    assert summary.complete and summary.records == 120
    shard(str(small_manifest), str(tmp_path), resolution=RES, shard_size=30)
    local_meta = read_metadata(str(tmp_path))
    remote_meta = read_metadata(out)
    assert remote_meta["splits"] == local_meta["splits"]
    name = local_meta["splits"]["train"]["shards"][0]
    assert storage.read_bytes(storage.join(out, name)) == (tmp_path / name).read_bytes()
    batches = list(make_dataset(out, "val", batch_size=64))
    assert sum(int(b[0].shape[0]) for b in batches) == local_meta["splits"]["val"]["records"]


def test_reader_cache_is_filled_up_front(small_manifest: Path, tmp_path: Path) -> None:
    """Keras stops an epoch after exactly `steps` batches; the cache must not depend on an
    epoch reading to the end, or every epoch would go back to the files."""
    shard(str(small_manifest), str(tmp_path / "s"), resolution=RES, shard_size=16)
    dataset = make_dataset(str(tmp_path / "s"), "train", batch_size=8, shuffle=True)
    expected = read_metadata(str(tmp_path / "s"))["splits"]["train"]["records"]
    shutil.rmtree(tmp_path / "s")
    for _ in range(2):  # served from memory: the files are gone
        assert sum(int(images.shape[0]) for images, _ in dataset) == expected
