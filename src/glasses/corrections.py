"""Label corrections: what a reviewer (or the audit) decided about given labels, read for ingest.

Two formats, told apart by their header:

- ``id,label``: label ``0``, ``1`` or ``drop`` (what ``glasses audit`` writes as
  corrections.csv, and what a person edits by hand);
- Label Studio's CSV export of the audit's tasks (``label_studio_tasks.json`` imported with
  ``label_studio_config.xml``): the face's id is the ``face_id`` column, the reviewer's answer the
  ``verdict`` column (``Glasses``, ``No glasses`` or ``Drop``). Label Studio's own ``id`` column
  there is its task number, not the face's.

Every line either becomes a correction or is rejected with its file, line and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from glasses.errors import InputError

DROP = "drop"
LABEL_SOURCES = ("given", "corrected", "dropped")
# Label Studio choices, in the order the labelling interface shows them
VERDICTS = ("Glasses", "No glasses", "Drop")
_VERDICT_LABELS: dict[str, int | str] = {"glasses": 1, "no glasses": 0, "drop": DROP}
_PLAIN_LABELS: dict[str, int | str] = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "drop": DROP}


def verdict_of(label: int) -> str:
    return VERDICTS[0] if label == 1 else VERDICTS[1]


@dataclass
class Corrections:
    """``label`` per face id (0, 1 or DROP) and where each came from; later files win."""

    labels: dict[int, int | str] = field(default_factory=dict)
    where: dict[int, str] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)
    lines: int = 0


def read_corrections(uris: list[str], into: Corrections | None = None) -> Corrections:
    """Every correction in ``uris``, in order; bad lines go to ``rejected`` with the reason."""
    from glasses.ingest import PLAIN_INTEGER, _read_csv

    out = into or Corrections()
    for uri in uris:
        try:
            header, rows = _read_csv(uri)
        except FileNotFoundError as err:
            raise InputError(f"--label-corrections {uri}: no such file") from err
        lowered = [h.lower() for h in header]
        if "face_id" in lowered:  # Label Studio's export
            id_col, label_col, values = (
                lowered.index("face_id"),
                _find(lowered, "verdict", uri),
                _VERDICT_LABELS,
            )
        elif "id" in lowered:
            id_col, label_col, values = (
                lowered.index("id"),
                _find(lowered, "label", uri),
                _PLAIN_LABELS,
            )
        else:
            raise InputError(
                f"{uri}: a corrections file needs an 'id,label' header, or Label Studio's "
                f"export with 'face_id' and 'verdict' columns (found: {', '.join(header[:6])})"
            )
        for line, fields in rows:
            out.lines += 1
            where = f"{uri}:{line}"
            raw_id = fields[id_col].strip() if id_col < len(fields) else ""
            raw = fields[label_col].strip() if label_col < len(fields) else ""
            if len(fields) != len(header):
                reason = f"row has {len(fields)} fields, the header has {len(header)}"
            elif not PLAIN_INTEGER.fullmatch(raw_id):
                reason = f"id {raw_id!r} is not a plain integer"
            elif raw.lower() not in values:
                shown = "0, 1 or drop" if values is _PLAIN_LABELS else ", ".join(VERDICTS)
                reason = (
                    "no verdict (the task was not annotated)"
                    if not raw
                    else f"label {raw!r} is not {shown}"
                )
            else:
                face_id = int(raw_id)
                out.labels[face_id] = values[raw.lower()]
                out.where[face_id] = where
                continue
            out.rejected.append({"id": raw_id, "source": where, "reason": reason})
    return out


def _find(header: list[str], name: str, uri: str) -> int:
    if name not in header:
        raise InputError(f"{uri}: header has no '{name}' column (found: {', '.join(header[:6])})")
    return header.index(name)
