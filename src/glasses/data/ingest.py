"""Ingest: find the Kaggle-layout CSVs and images under a source, validate every row, split.

Validation reads only the CSVs and one listing of the source (names and sizes): no image is
opened here, so 5000 rows on a bucket take seconds. Decoding problems are the shard step's to
find. Every row read ends up either in the manifest or in the report's ``rejected`` list, with
the file and line it came from. Each labelled row's split is decided by
glasses.data.manifest.assign_split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glasses import defaults, storage
from glasses.artifacts import INGEST_REPORT, LABELLED_CSV, MANIFEST, UNLABELLED_CSV
from glasses.data.corrections import Corrections, read_corrections
from glasses.data.manifest import (
    LABEL_SOURCES,
    LABELLED_SPLITS,
    SPLITS,
    ManifestRow,
    assign_split,
    write_manifest,
)
from glasses.data.review import DROP
from glasses.data.reviewed import ReviewedFaces, read_reviewed
from glasses.data.tables import PLAIN_INTEGER, column, read_table
from glasses.errors import SettingError, within

log = logging.getLogger(__name__)

LABEL_COLUMN = "glasses"
IMAGE_NAME = re.compile(r"face-([0-9]+)\.png", re.IGNORECASE)
LABEL_VALUES = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


@dataclass
class IngestReport:
    source: str
    manifest: str
    rows: list[ManifestRow] = field(default_factory=list)
    rows_read: int = 0
    rejected_rows: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    ignored_images: list[dict[str, str]] = field(default_factory=list)
    csvs: list[str] = field(default_factory=list)
    corrections: dict[str, Any] = field(default_factory=dict)
    extra_labels: dict[str, Any] = field(default_factory=dict)

    def reject(self, face_id: str, source: str, reason: str, *, row: bool = True) -> None:
        self.rejected.append({"id": face_id, "source": source, "reason": reason})
        if row:
            self.rejected_rows += 1

    def counts(self) -> dict[str, Any]:
        """Counts of the rows that go on to training (dropped ones are counted apart)."""
        kept = [r for r in self.rows if r.label_source != "dropped"]
        per_split = Counter(r.split for r in kept)
        per_class = Counter(str(r.label) for r in kept if r.label is not None)
        per_split_class = {
            s: dict(sorted(Counter(str(r.label) for r in kept if r.split == s).items()))
            for s in LABELLED_SPLITS
        }
        sources = Counter(r.label_source for r in self.rows)
        return {
            "rows_read": self.rows_read,
            "accepted": len(self.rows),
            "rejected_rows": self.rejected_rows,
            "label_source": {k: sources.get(k, 0) for k in LABEL_SOURCES},
            "orphan_images": len(self.rejected) - self.rejected_rows,
            "per_split": {s: per_split.get(s, 0) for s in SPLITS},
            "per_class": {c: per_class.get(c, 0) for c in ("0", "1")},
            "per_split_class": per_split_class,
        }


def _find_csv(files: list[storage.FileInfo], name: str) -> str | None:
    """The shallowest file called ``name`` under the source (Kaggle puts both at the top)."""
    matches = [f.uri for f in files if storage.basename(f.uri) == name]
    return min(matches, key=lambda u: (u.count("/"), u)) if matches else None


def _index_images(
    files: list[storage.FileInfo], report: IngestReport
) -> dict[int, storage.FileInfo]:
    """face-{id}.png anywhere under the source, by id; the shallowest wins a tie."""
    images: dict[int, storage.FileInfo] = {}
    for info in sorted(files, key=lambda f: (f.uri.count("/"), f.uri)):
        match = IMAGE_NAME.fullmatch(storage.basename(info.uri))
        if not match:
            continue
        face_id = int(match.group(1))
        if face_id in images:
            report.ignored_images.append(
                {
                    "uri": info.uri,
                    "reason": f"another image for id {face_id}: {images[face_id].uri}",
                }
            )
            continue
        images[face_id] = info
    return images


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    within("val_fraction", val_fraction, 0.0, 1.0, open_high=True)
    within("test_fraction", test_fraction, 0.0, 1.0, open_high=True)
    if val_fraction + test_fraction >= 1.0:
        raise SettingError(
            f"val_fraction + test_fraction must leave rows for training, "
            f"got {val_fraction} + {test_fraction}",
            "val_fraction",
            "test_fraction",
        )


def ingest(
    source: str,
    output: str,
    val_fraction: float = defaults.VAL_FRACTION,
    test_fraction: float = defaults.TEST_FRACTION,
    seed: int = defaults.SEED,
    label_corrections: Sequence[str] = (),
    extra_labels: Sequence[str] = (),
) -> IngestReport:
    """Validate ``source`` and write ``output``/manifest.csv and ``output``/ingest_report.json.

    ``extra_labels``: files (or folders of them) of reviewed faces from outside the source
    (glasses.data.reviewed), added as labelled rows; ``label_corrections``: files of corrected
    labels (glasses.data.corrections), applied in order, to the source's rows and the
    reviewed ones alike (the audit's corrections name both).
    """
    check_fractions(val_fraction, test_fraction)
    fixes = read_corrections(label_corrections) if label_corrections else None
    reviewed = read_reviewed(extra_labels) if extra_labels else None
    if not storage.is_gcs(source):
        source = os.path.abspath(source)
    try:
        files = storage.list_files(source)
    except FileNotFoundError as err:
        raise SettingError(f"source {source}: nothing there ({err})", "source") from err
    report = IngestReport(source=source, manifest=storage.join(output, MANIFEST))
    images = _index_images(files, report)

    labelled_csv = _find_csv(files, LABELLED_CSV)
    unlabelled_csv = _find_csv(files, UNLABELLED_CSV)
    if labelled_csv is None and unlabelled_csv is None:
        raise SettingError(
            f"source {source}: found neither {LABELLED_CSV} nor {UNLABELLED_CSV}", "source"
        )

    first_seen: dict[int, str] = {}
    for csv_uri, labelled in ((labelled_csv, True), (unlabelled_csv, False)):
        if csv_uri is None:
            continue
        report.csvs.append(csv_uri)
        header, rows = read_table(csv_uri)
        id_col = column(header, "id", csv_uri)
        label_col = column(header, LABEL_COLUMN, csv_uri) if labelled else -1
        for line, fields in rows:
            report.rows_read += 1
            where = f"{csv_uri}:{line}"
            row = _check_row(fields, len(header), id_col, label_col, first_seen, images)
            if isinstance(row, str):
                raw_id = fields[id_col].strip() if id_col < len(fields) else ""
                report.reject(raw_id, where, row)
                continue
            face_id, label = row
            first_seen[face_id] = where
            split = (
                assign_split(face_id, seed, val_fraction, test_fraction)
                if label is not None
                else "unlabelled"
            )
            report.rows.append(ManifestRow(face_id, images[face_id].uri, label, split))

    named = set(first_seen) | {
        int(r["id"]) for r in report.rejected if PLAIN_INTEGER.fullmatch(r["id"])
    }
    for face_id, info in sorted(images.items()):
        if face_id not in named:
            report.reject(str(face_id), info.uri, "image not named by any CSV row", row=False)

    if reviewed is not None:
        _add_reviewed(report, reviewed, seed, val_fraction, test_fraction)
    report.rows.sort(key=lambda r: r.id)
    if fixes is not None:
        _apply_corrections(report, fixes, list(label_corrections))
    added = len(reviewed.faces) if reviewed is not None else 0
    assert report.rows_read + added == len(report.rows) + report.rejected_rows
    _write(report, output, seed, val_fraction, test_fraction)
    if not report.rows:
        reasons = Counter(r["reason"].split(" (")[0] for r in report.rejected)
        top = reasons.most_common(1)[0][0] if reasons else "no data rows"
        raise SettingError(
            f"source {source}: no row accepted ({report.rows_read} read; most common problem: "
            f"{top}); see {storage.join(output, INGEST_REPORT)}",
            "source",
        )
    return report


def _add_reviewed(
    report: IngestReport, reviewed: ReviewedFaces, seed: int, val_fraction: float,
    test_fraction: float,
) -> None:  # fmt: skip
    """The reviewed faces as labelled rows, each in the split its id decides."""
    for face in reviewed.faces:
        split = assign_split(face.id, seed, val_fraction, test_fraction)
        report.rows.append(ManifestRow(face.id, face.uri, face.label, split, "reviewed"))
    report.extra_labels = reviewed.summary()
    log.info("extra labels: %d reviewed faces added, %d repeated, %d left out, %d lines "
             "rejected", len(reviewed.faces), reviewed.repeated, reviewed.left_out,
             len(reviewed.rejected))  # fmt: skip


def _apply_corrections(report: IngestReport, fixes: Corrections, files: list[str]) -> None:
    """Relabel or drop the named labelled rows; every correction line is accounted for."""
    index = {r.id: i for i, r in enumerate(report.rows)}
    applied: Counter[str] = Counter()
    rejected = list(fixes.rejected)
    for face_id, label in fixes.labels.items():
        where = fixes.where[face_id]
        i = index.get(face_id)
        if i is None:
            reason = f"unknown id {face_id}: no accepted row of the source has it"
            rejected.append({"id": str(face_id), "source": where, "reason": reason})
            continue
        row = report.rows[i]
        if row.label is None:
            reason = f"face {face_id} is unlabelled (in {UNLABELLED_CSV}); only labels can be fixed"
            rejected.append({"id": str(face_id), "source": where, "reason": reason})
            continue
        if label == DROP:
            report.rows[i] = dataclasses.replace(row, label_source="dropped")
            applied["dropped"] += 1
        elif label != row.label:
            report.rows[i] = dataclasses.replace(row, label=int(label), label_source="corrected")
            applied["corrected"] += 1
        else:
            applied["confirmed"] += 1  # the reviewer agreed with the given label
    superseded = fixes.lines - len(fixes.rejected) - len(fixes.labels)
    report.corrections = {
        "files": files,
        "lines": fixes.lines,
        "corrected": applied["corrected"],
        "dropped": applied["dropped"],
        "confirmed": applied["confirmed"],
        "superseded": superseded,  # an id named again later: the later line counts
        "rejected": rejected,
    }
    assert fixes.lines == sum(applied.values()) + len(rejected) + superseded
    log.info(
        "label corrections: %d relabelled, %d dropped, %d confirmed, %d lines rejected",
        applied["corrected"], applied["dropped"], applied["confirmed"], len(rejected),
    )  # fmt: skip


def _check_row(
    fields: list[str],
    width: int,
    id_col: int,
    label_col: int,
    first_seen: dict[int, str],
    images: dict[int, storage.FileInfo],
) -> tuple[int, int | None] | str:
    """(id, label) for a good row, or the reason for rejecting it."""
    raw_id = fields[id_col].strip() if id_col < len(fields) else ""
    if len(fields) != width:
        return f"row has {len(fields)} fields, the header has {width}"
    if not PLAIN_INTEGER.fullmatch(raw_id):
        return f"id {raw_id!r} is not a plain integer"
    face_id = int(raw_id)
    label: int | None = None
    if label_col >= 0:
        raw_label = fields[label_col].strip()
        if raw_label not in LABEL_VALUES:
            return f"label {raw_label!r} is not 0 or 1"
        label = LABEL_VALUES[raw_label]
    if face_id in first_seen:
        return f"duplicate id {face_id} (first at {first_seen[face_id]})"
    image = images.get(face_id)
    if image is None:
        return f"no image face-{face_id}.png under the source"
    if image.size == 0:
        return f"image {image.uri} is empty (0 bytes)"
    return face_id, label


def _write(
    report: IngestReport, output: str, seed: int, val_fraction: float, test_fraction: float
) -> None:
    document = {
        "source": report.source,
        "csvs": report.csvs,
        "manifest": report.manifest,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "counts": report.counts(),
        "rejected": report.rejected,
        "label_corrections": report.corrections or None,
        "extra_labels": report.extra_labels or None,
        "ignored_images": report.ignored_images,
    }
    storage.write_text(storage.join(output, INGEST_REPORT), json.dumps(document, indent=2) + "\n")
    write_manifest(report.manifest, report.rows)
    log.debug("ingest counts: %s", json.dumps(document["counts"]))


def source_fingerprint(source: str, extra_labels: str = "") -> str:
    """A digest of every file's name and size below ``source`` (and below ``extra_labels``, when
    given): it changes when files are added, removed or replaced by different-sized ones. The
    pipeline passes it to ingest so KFP's cache reuses an earlier ingest only while the source
    and the reviews are unchanged."""
    h = hashlib.sha256()
    for name, root in (("source", source), ("extra_labels", extra_labels)):
        if root:
            h.update(f"{name}\n".encode())
            for rel, size in _listing(name, root):
                h.update(f"{rel}\t{size}\n".encode())
    return h.hexdigest()


def _listing(name: str, root: str) -> list[tuple[str, int]]:
    """(path below ``root``, size) of every file there; a single file is listed by its name."""
    if root.lower().endswith(".csv") and storage.exists(root):
        return [(storage.basename(root), len(storage.read_bytes(root)))]
    try:
        files = storage.list_files(root)
    except FileNotFoundError as err:
        raise SettingError(f"{name} {root}: nothing there ({err})", name) from err
    return [(storage.relative(f.uri, root), f.size) for f in sorted(files, key=lambda f: f.uri)]
