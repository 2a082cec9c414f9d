"""The ledger of scored files and resolving a model or registry: what the scoring pipeline's
"new faces only" and "fails before scoring" rest on (score's own use: test_score)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasses import storage
from glasses.errors import InputError, SettingError
from glasses.model.registry import resolve
from glasses.scoring import ledger


def test_a_run_recorded_is_seen_by_the_same_model_only(any_root: str) -> None:
    """On a local folder and on GCS: a file's version is its modification time or its
    object's generation, so a file rewritten in place is new to the ledger."""
    faces = storage.join(any_root, "faces")
    for name in ("a.png", "b.png"):
        storage.write_bytes(storage.join(faces, name), b"x" * 10)
    files = storage.list_files(faces)
    assert all(f.version for f in files)
    keys = [ledger.key_of(f) for f in files]
    led = storage.join(any_root, "ledger")
    assert ledger.seen(led, "ab" * 32) == set()  # nothing scored yet
    entries = [(ledger.parse_key(keys[0]), "scored"), (ledger.parse_key(keys[1]), "rejected")]
    first = ledger.record(led, "ab" * 32, entries)
    assert first is not None and ledger.record(led, "ab" * 32, entries) == first  # one file
    assert ledger.record(led, "ab" * 32, []) is None
    known = ledger.seen(led, "ab" * 32)
    assert ledger.new_only(keys, known) == [False, False]
    assert ledger.new_only(keys, ledger.seen(led, "cd" * 32)) == [True, True]  # another model
    storage.write_bytes(storage.join(faces, "a.png"), b"y" * 10)  # rewritten, the same size
    again = [ledger.key_of(f) for f in storage.list_files(faces)]
    assert ledger.new_only(again, known) == [True, False]


def test_a_damaged_ledger_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ledger" / ("ab" * 8)
    folder.mkdir(parents=True)
    (folder / "x.csv").write_text("uri,size,version,outcome\n/a.png,ten,1,scored\n")
    with pytest.raises(InputError, match=r"x.csv:2: not a ledger row"):
        ledger.seen(str(tmp_path / "ledger"), "ab" * 32)


def test_resolve_takes_a_model_folder_or_a_registry_and_names_an_empty_one(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.keras").write_bytes(b"weights")
    assert resolve(str(model)).model == str(model)
    registry = tmp_path / "registry"
    (registry / "v1").mkdir(parents=True)
    (registry / "v1" / "model.keras").write_bytes(b"weights")
    (registry / "latest.json").write_text(f'{{"version": "v1", "model": "{registry / "v1"}"}}')
    assert resolve(str(registry)) == resolve(str(registry), "model_registry")
    assert resolve(str(registry)).version == "v1"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        SettingError, match=rf"model_registry {empty}: no model\.keras \(not a folder"
    ) as err:
        resolve(str(empty), "model_registry")
    assert err.value.settings == ("model_registry",)
    (registry / "latest.json").write_text("{not json")
    with pytest.raises(InputError, match=r"latest\.json: not JSON"):
        resolve(str(registry))
