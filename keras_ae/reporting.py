"""Result tables as Markdown and CSV."""

from __future__ import annotations

import csv
import os
from typing import Sequence

from keras_ae.io import atomic_write, write_text


def format_cell(value) -> str:
    """A table cell: floats to 4 significant digits (exponent notation from 1e5 on), text with
    its ``|`` escaped so that it stays one Markdown cell."""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 or value != value else f"{value:.3e}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    columns = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(format_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: Sequence[dict], path_stem: str | os.PathLike, columns: Sequence[str] | None = None,
                caption: str | None = None) -> tuple[str, str]:
    """Write ``<stem>.md`` (with an optional caption line) and ``<stem>.csv``, each atomically
    (:mod:`keras_ae.io`); return both paths."""
    if not rows:
        raise ValueError("no rows to write")
    stem = os.fspath(path_stem)
    columns = list(columns or rows[0].keys())
    write_text(stem + ".md", (caption + "\n\n" if caption else "") + markdown_table(rows, columns))
    with atomic_write(stem + ".csv", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return stem + ".md", stem + ".csv"
