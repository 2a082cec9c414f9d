"""Reviewed faces: labelled by a person, from anywhere, with no row in the source's train.csv.

What a reviewer decided about the uncertain faces of a scored batch comes back here, for
``glasses ingest --extra-labels``. Two formats, told apart by their header:

- ``uri,label``: the image's file or ``gs://`` URI and its label, ``0`` or ``1``;
- Label Studio's CSV export of the scoring run's review tasks (glasses.data.review): the
  image is the ``image`` column, the answer the ``verdict`` column (``Glasses``, ``No
  glasses``; ``Drop`` leaves the face out).

A face's id is a digest of its image's bytes, above every id a Kaggle row can have
(``REVIEWED_ID_BASE``): the same face reviewed twice, under any name, is one face, and its split
follows from the id by the one stable rule (glasses.data.manifest.assign_split), so it never
moves when more faces arrive. Every line is accounted for: added, the same face again (same
label), left out by the reviewer, or rejected with its file, line and reason.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glasses import storage
from glasses.data.review import DROP, VERDICTS, answer_of
from glasses.data.tables import column, read_table
from glasses.errors import InputError, SettingError

# above any Kaggle id (they count from 1), and with the 60-bit digest below 2**63: an int64
REVIEWED_ID_BASE = 10**18
_DIGEST_HEX = 15  # 60 bits: a collision among a million faces has odds of about 1e-6
_PLAIN_LABELS: dict[str, int | str] = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "drop": DROP}


def reviewed_id(image: bytes) -> int:
    """The id of a reviewed face: the same bytes give the same id wherever the file is."""
    return REVIEWED_ID_BASE + int(hashlib.sha256(image).hexdigest()[:_DIGEST_HEX], 16)


@dataclass(frozen=True)
class ReviewedFace:
    id: int
    uri: str
    label: int
    where: str  # file:line of the line that added it


@dataclass
class ReviewedFaces:
    """The faces to add, and what became of every line read."""

    files: list[str] = field(default_factory=list)
    faces: list[ReviewedFace] = field(default_factory=list)
    lines: int = 0
    repeated: int = 0  # the same face (same bytes) with the same label on another line
    left_out: int = 0  # answered "drop" by the reviewer
    rejected: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"files": self.files, "lines": self.lines, "added": len(self.faces),
                "repeated": self.repeated, "left_out": self.left_out,
                "rejected": self.rejected}  # fmt: skip


def _label_files(uri: str) -> list[str]:
    """``uri`` itself, or the CSV files below it when it is a folder or prefix."""
    if uri.lower().endswith(".csv") and storage.exists(uri):
        return [uri]
    try:
        found = [f.uri for f in storage.list_files(uri) if f.uri.lower().endswith(".csv")]
    except FileNotFoundError:
        found = []
    if not found:
        raise SettingError(f"extra_labels {uri}: no such file, and no .csv files below it",
                           "extra_labels")  # fmt: skip
    return found


def read_reviewed(uris: Sequence[str]) -> ReviewedFaces:
    """Every reviewed face in ``uris`` (files, or folders/prefixes of CSV files), in order.

    Reads each named image once, for its id: reviewed faces are few, and an unreadable one is
    rejected here, by its line, rather than later by shard without it. Lines that give the
    same face different labels are all rejected: the reviewers disagree."""
    out = ReviewedFaces()
    answers: dict[int, list[ReviewedFace]] = {}  # by id, in the order read
    for uri in uris:
        for path in _label_files(uri):
            out.files.append(path)
            for face in _read_file(path, out):
                answers.setdefault(face.id, []).append(face)
    for lines in answers.values():
        if len({f.label for f in lines}) == 1:
            out.faces.append(lines[0])
            out.repeated += len(lines) - 1
            continue
        for face in lines:
            other = next(f for f in lines if f.label != face.label)
            out.rejected.append({"uri": face.uri, "source": face.where,
                                 "reason": f"the same face is labelled {other.label} at "
                                           f"{other.where}"})  # fmt: skip
    assert out.lines == len(out.faces) + out.repeated + out.left_out + len(out.rejected)
    return out


def _read_file(path: str, out: ReviewedFaces) -> list[ReviewedFace]:
    """The answered faces of one file; its bad lines and left-out faces counted in ``out``."""
    header, rows = read_table(path)
    lowered = [h.lower() for h in header]
    studio = "verdict" in lowered and "image" in lowered  # Label Studio's export
    if not studio and "uri" not in lowered:
        raise InputError(
            f"{path}: an extra-labels file needs a 'uri,label' header, or Label Studio's "
            f"export with 'image' and 'verdict' columns (found: {', '.join(header[:6])})"
        )
    uri_col = lowered.index("image" if studio else "uri")
    label_col = column(lowered, "verdict" if studio else "label", path)
    faces = []
    for line, fields in rows:
        out.lines += 1
        where = f"{path}:{line}"
        image = fields[uri_col].strip() if uri_col < len(fields) else ""
        raw = fields[label_col].strip() if label_col < len(fields) else ""
        answer = answer_of(raw) if studio else _PLAIN_LABELS.get(raw.lower())
        reason = _problem(fields, header, image, raw, answer, studio)
        face_id = None
        if reason is None:
            image = _resolve(image, path)
            face_id, reason = _face_id(image)
        if reason is not None or face_id is None:
            out.rejected.append({"uri": image, "source": where, "reason": str(reason)})
        elif answer == DROP:
            out.left_out += 1
        elif isinstance(answer, int):
            faces.append(ReviewedFace(face_id, image, answer, where))
    return faces


def _problem(
    fields: list[str], header: list[str], image: str, raw: str, answer: object, studio: bool
) -> str | None:
    if len(fields) != len(header):
        return f"row has {len(fields)} fields, the header has {len(header)}"
    if not image:
        return "no image URI"
    if answer is None:
        shown = ", ".join(VERDICTS) if studio else "0, 1 or drop"
        return (
            "no verdict (the task was not annotated)"
            if not raw
            else f"label {raw!r} is not {shown}"
        )
    return None


def _resolve(image: str, table: str) -> str:
    """A relative image path is relative to the folder of the table naming it."""
    if storage.is_gcs(image) or os.path.isabs(image):
        return image
    if storage.is_gcs(table):
        return storage.join(table.rsplit("/", 1)[0], image)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(table)), image))


def _face_id(image: str) -> tuple[int | None, str | None]:
    try:
        data = storage.read_bytes(image)
    except FileNotFoundError:
        return None, f"image {image}: no such file"
    except (OSError, storage.StorageError) as err:
        return None, f"image {image}: unreadable ({err})"
    if not data:
        return None, f"image {image} is empty (0 bytes)"
    return reviewed_id(data), None
