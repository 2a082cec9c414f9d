"""Label corrections: what a reviewer (or the audit) decided about given labels, read for ingest.

Two formats, told apart by their header:

- ``id,label``: label ``0``, ``1`` or ``drop`` (what ``glasses audit`` writes as
  corrections.csv, and what a person edits by hand);
- Label Studio's CSV export of the audit's tasks (glasses.data.review): the face's id is the
  ``face_id`` column, the reviewer's answer the ``verdict`` column (``Glasses``, ``No
  glasses`` or ``Drop``). Label Studio's own ``id`` column there is its task number, not the
  face's.

Every line either becomes a correction or is rejected with its file, line and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from glasses.data.review import DROP, VERDICTS, answer_of
from glasses.data.tables import PLAIN_INTEGER, column, read_table
from glasses.errors import InputError, SettingError

_PLAIN_LABELS: dict[str, int | str] = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "drop": DROP}


@dataclass
class Corrections:
    """``label`` per face id (0, 1 or DROP) and where each came from; later files win."""

    labels: dict[int, int | str] = field(default_factory=dict)
    where: dict[int, str] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)
    lines: int = 0


def read_corrections(uris: Sequence[str]) -> Corrections:
    """Every correction in ``uris``, in order; bad lines go to ``rejected`` with the reason."""
    out = Corrections()
    for uri in uris:
        try:
            header, rows = read_table(uri)
        except FileNotFoundError as err:
            message = f"label_corrections {uri}: no such file"
            raise SettingError(message, "label_corrections") from err
        lowered = [h.lower() for h in header]
        studio = "face_id" in lowered  # Label Studio's export
        if not studio and "id" not in lowered:
            raise InputError(
                f"{uri}: a corrections file needs an 'id,label' header, or Label Studio's "
                f"export with 'face_id' and 'verdict' columns (found: {', '.join(header[:6])})"
            )
        id_col = lowered.index("face_id" if studio else "id")
        label_col = column(lowered, "verdict" if studio else "label", uri)
        for line, fields in rows:
            out.lines += 1
            where = f"{uri}:{line}"
            raw_id = fields[id_col].strip() if id_col < len(fields) else ""
            raw = fields[label_col].strip() if label_col < len(fields) else ""
            answer = answer_of(raw) if studio else _PLAIN_LABELS.get(raw.lower())
            if len(fields) != len(header):
                reason = f"row has {len(fields)} fields, the header has {len(header)}"
            elif not PLAIN_INTEGER.fullmatch(raw_id):
                reason = f"id {raw_id!r} is not a plain integer"
            elif answer is None:
                shown = ", ".join(VERDICTS) if studio else "0, 1 or drop"
                reason = (
                    "no verdict (the task was not annotated)"
                    if not raw
                    else f"label {raw!r} is not {shown}"
                )
            else:
                face_id = int(raw_id)
                out.labels[face_id] = answer
                out.where[face_id] = where
                continue
            out.rejected.append({"id": raw_id, "source": where, "reason": reason})
    return out
