"""The manifest: one row per face of the source (id, image, label, split, where the label came
from), written by ingest and read by every step after it. Its one writer and one reader are
here, and so is the rule that puts a face in a split.

The split is stratified by label and stable: a row's split is decided by a hash of (seed, id)
compared with the fractions, separately within each class, so adding rows never moves an
existing row to another split. The price is that split sizes match the fractions only up to
sampling noise (about ±√(n·f) rows), which ingest's report shows.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from glasses import storage
from glasses.data.tables import PLAIN_INTEGER, read_table
from glasses.errors import InputError

COLUMNS = ("id", "uri", "label", "split", "label_source")
# manifests written before label corrections existed have no label_source column (all "given")
COLUMNS_V1 = COLUMNS[:4]
SPLITS = ("train", "val", "test", "unlabelled")
LABELLED_SPLITS = SPLITS[:3]
# given (as the source's CSV says), corrected (by label corrections), dropped (by them: the
# row stays in the manifest so that nothing goes missing unseen; shard leaves it out), or
# reviewed (a face from outside the source, labelled by a person: glasses.data.reviewed)
LABEL_SOURCES = ("given", "corrected", "dropped", "reviewed")


@dataclass(frozen=True)
class ManifestRow:
    id: int
    uri: str
    label: int | None  # None in the unlabelled split
    split: str
    label_source: str = "given"


def stable_fraction(seed: int, face_id: int, salt: str = "") -> float:
    """A uniform number in [0, 1) that depends only on (seed, id) and what it is for (``salt``:
    the audit's folds must not follow the split)."""
    key = f"{seed}:{face_id}" if not salt else f"{salt}:{seed}:{face_id}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign_split(face_id: int, seed: int, val_fraction: float, test_fraction: float) -> str:
    """Which split a labelled row belongs to; stable when rows are added or removed.

    Applied within each class, the same thresholds give every class the same expected
    proportions: a stratified split without needing to see the other rows.
    """
    u = stable_fraction(seed, face_id)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def write_manifest(uri: str, rows: Sequence[ManifestRow]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.id, r.uri, "" if r.label is None else r.label, r.split, r.label_source])
    storage.write_text(uri, buf.getvalue())


def read_manifest(uri: str) -> list[ManifestRow]:
    """Rows of a manifest written by ingest, checked, for the steps that follow."""
    header, rows = read_table(uri)
    if tuple(header) not in (COLUMNS, COLUMNS_V1):
        raise InputError(f"{uri}: header must be {','.join(COLUMNS)}, got {','.join(header)}")
    out = []
    for line, fields in rows:
        if len(fields) != len(header):
            raise InputError(f"{uri}:{line}: expected {len(header)} fields, got {len(fields)}")
        raw_id, uri_field, raw_label, split = fields[:4]
        source = fields[4] if len(fields) > 4 else "given"
        if not PLAIN_INTEGER.fullmatch(raw_id) or split not in SPLITS:
            raise InputError(f"{uri}:{line}: bad id {raw_id!r} or split {split!r}")
        if raw_label not in ("", "0", "1") or (raw_label == "") != (split == "unlabelled"):
            raise InputError(f"{uri}:{line}: label {raw_label!r} does not fit split {split!r}")
        if source not in LABEL_SOURCES:
            raise InputError(f"{uri}:{line}: label_source {source!r} is not one of "
                             f"{', '.join(LABEL_SOURCES)}")  # fmt: skip
        label = int(raw_label) if raw_label else None
        out.append(ManifestRow(int(raw_id), uri_field, label, split, source))
    return out
