"""CSV tables as the Kaggle set and our steps write them, read with errors that name the file
and line: the one CSV reader of ingest, the manifest and label corrections."""

from __future__ import annotations

import csv
import io
import re

from glasses import storage
from glasses.errors import InputError

# ids are joined into paths and compared as numbers: nothing but digits is ever accepted
PLAIN_INTEGER = re.compile(r"[0-9]+")

Rows = list[tuple[int, list[str]]]  # (line number, fields) per non-blank row


def read_table(uri: str) -> tuple[list[str], Rows]:
    """Header and (line number, fields) for each non-blank row; errors name the file and line."""
    try:
        text = storage.read_bytes(uri).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{uri}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: Rows = []
    try:
        header = next(reader, None)
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((reader.line_num, fields))
    except csv.Error as err:
        raise InputError(f"{uri}:{reader.line_num}: unreadable CSV ({err})") from err
    if header is None:
        raise InputError(f"{uri}: empty file, expected a header starting with 'id'")
    return [h.strip() for h in header], rows


def column(header: list[str], name: str, uri: str) -> int:
    """Where ``name`` is in ``header``, or an error naming the file and what it has."""
    if name not in header:
        shown = ", ".join(header[:6]) + (", …" if len(header) > 6 else "")
        raise InputError(f"{uri}: header has no '{name}' column (found: {shown})")
    return header.index(name)
