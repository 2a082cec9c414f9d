"""The storage layer, once on local paths and once on a real GCS-API server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glasses import storage


def test_round_trip_creates_folders(any_root: str) -> None:
    uri = storage.join(any_root, "a", "b", "c.bin")
    storage.write_bytes(uri, b"\x00\x01payload")
    assert storage.read_bytes(uri) == b"\x00\x01payload"
    assert storage.exists(uri)
    storage.write_text(storage.join(any_root, "t.txt"), "héllo")
    assert storage.read_text(storage.join(any_root, "t.txt")) == "héllo"


def test_list_files_is_recursive_sorted_and_sized(any_root: str) -> None:
    for name, size in [("z.txt", 3), ("a/1.png", 5), ("a/b/2.png", 0)]:
        storage.write_bytes(storage.join(any_root, name), b"x" * size)
    found = storage.list_files(any_root)
    assert [(f.uri, f.size) for f in found] == [
        (storage.join(any_root, "a", "1.png"), 5),
        (storage.join(any_root, "a", "b", "2.png"), 0),
        (storage.join(any_root, "z.txt"), 3),
    ]
    # a prefix is a folder: "a" does not match "ab/..."
    storage.write_bytes(storage.join(any_root, "ab", "x"), b"1")
    assert len(storage.list_files(storage.join(any_root, "a"))) == 2


def test_missing_things_raise_file_not_found_naming_the_uri(any_root: str) -> None:
    missing = storage.join(any_root, "nope", "x.png")
    with pytest.raises(FileNotFoundError, match="nope"):
        storage.read_bytes(missing)
    with pytest.raises(FileNotFoundError, match="nope"):
        storage.list_files(storage.join(any_root, "nope"))
    assert not storage.exists(missing)
    storage.delete(missing)  # deleting what is not there is fine


def test_failed_write_leaves_nothing_at_the_final_name(any_root: str) -> None:
    uri = storage.join(any_root, "shard.tfrecord")
    with pytest.raises(RuntimeError), storage.open_write(uri) as f:
        f.write(b"half of a shard")
        raise RuntimeError("worker killed")
    assert not storage.exists(uri)
    storage.write_bytes(uri, b"old")
    with pytest.raises(RuntimeError), storage.open_write(uri) as f:
        f.write(b"new but unfinished")
        raise RuntimeError("worker killed")
    assert storage.read_bytes(uri) == b"old"
    # and no temporary file is left behind to be mistaken for data
    assert [f.uri for f in storage.list_files(any_root)] == [uri]


def test_open_write_streams_large_files(any_root: str) -> None:
    uri = storage.join(any_root, "big.bin")
    with storage.open_write(uri) as f:
        for _ in range(8):
            f.write(os.urandom(1 << 20))
    assert len(storage.read_bytes(uri)) == 8 << 20


def test_copy_between_local_and_gcs(tmp_path: Path, gcs_root: str) -> None:
    local = str(tmp_path / "in.txt")
    storage.write_bytes(local, b"abc")
    storage.copy(local, storage.join(gcs_root, "1.txt"))
    storage.copy(storage.join(gcs_root, "1.txt"), storage.join(gcs_root, "2.txt"))
    storage.copy(storage.join(gcs_root, "2.txt"), str(tmp_path / "out" / "3.txt"))
    assert (tmp_path / "out" / "3.txt").read_bytes() == b"abc"
    storage.delete(storage.join(gcs_root, "1.txt"))
    assert not storage.exists(storage.join(gcs_root, "1.txt"))


def test_uri_helpers() -> None:
    assert storage.is_gcs("gs://b/p") and not storage.is_gcs("/tmp/gs://x")
    assert storage.join("gs://b/p/", "/a/", "c.png") == "gs://b/p/a/c.png"
    assert storage.split_gcs("gs://b/p/q") == ("b", "p/q")
    assert storage.basename("gs://b/p/q.png") == "q.png"
    with pytest.raises(ValueError, match="bucket"):
        storage.split_gcs("gs:///x")
