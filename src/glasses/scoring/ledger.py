"""The ledger of scored files: what a model has already scored of a folder that keeps growing.

An hourly scoring of whatever landed in a GAN's output folder should cost the new faces only.
The ledger remembers, per model (by the digest of its weights), every file it scored or
rejected, as the file was then: its URI, size and version (a GCS object's generation, a local
file's modification time). A file is new to a model if no entry matches all three, so a file
rewritten in place is scored again, and a new model scores everything once.

Layout: ``LEDGER/<model digest>/<run>.csv``, one file per scoring run, written once by whoever
finished the run (a rerun of the same run writes the same file): no object is ever appended
to, so overlapping runs cannot lose each other's entries (at worst both score a face).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence

from glasses import storage
from glasses.errors import InputError

COLUMNS = ("uri", "size", "version", "outcome")  # outcome: scored or rejected
DIGEST_CHARS = 16  # of the model's digest, naming its folder

FileKey = tuple[str, int, str]  # (uri, size, version)


def _folder(ledger: str, model_digest: str) -> str:
    return storage.join(ledger, model_digest[:DIGEST_CHARS])


def seen(ledger: str, model_digest: str) -> set[FileKey]:
    """Every file this model scored or rejected in earlier runs."""
    try:
        files = storage.list_files(_folder(ledger, model_digest))
    except FileNotFoundError:
        return set()  # this model has scored nothing here yet
    keys: set[FileKey] = set()
    for f in files:
        if not f.uri.endswith(".csv"):
            continue
        reader = csv.reader(io.StringIO(storage.read_text(f.uri)))
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise InputError(f"{f.uri}: not a ledger file (header {header}, expected "
                             f"{','.join(COLUMNS)})")  # fmt: skip
        for line, row in enumerate(reader, 2):
            if len(row) != len(COLUMNS) or not row[1].isdigit():
                raise InputError(f"{f.uri}:{line}: not a ledger row ({row})")
            keys.add((row[0], int(row[1]), row[2]))
    return keys


def record(ledger: str, model_digest: str, entries: Sequence[tuple[FileKey, str]]) -> str | None:
    """Write one run's entries ((file, outcome) per input); returns the file, None if empty.
    The run's file is named by its contents, so writing the same run twice is one file."""
    if not entries:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for (uri, size, version), outcome in entries:
        writer.writerow([uri, size, version, outcome])
    text = buf.getvalue()
    name = hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS] + ".csv"
    uri = storage.join(_folder(ledger, model_digest), name)
    storage.write_text(uri, text)
    return uri


def parse_key(key: str) -> FileKey:
    """A face's key as score carries it ("size|version|uri") back to a FileKey."""
    size, version, uri = key.split("|", 2)
    return uri, int(size), version


def key_of(info: storage.FileInfo) -> str:
    return f"{info.size}|{info.version}|{info.uri}"


def new_only(keys: Iterable[str], known: set[FileKey]) -> list[bool]:
    """For each key: is it a file the ledger does not know?"""
    return [parse_key(k) not in known for k in keys]
