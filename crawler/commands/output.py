"""Print rows the same way in every command: a Rich table, CSV, JSON or Parquet.

Counts hidden by small-cell suppression (analysis.suppression.Hidden) are "<k" or "x" in a
table and CSV and null in JSON and Parquet (the row's `suppressed` column says so). Rates that
commands round to fixed precision (decimal.Decimal) are written as plain decimals, never in
exponent notation. CSV cells that a spreadsheet would evaluate are neutralised
(storage.sheets).
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from analysis.suppression import Hidden
from crawler.errors import VemeterError
from storage.sheets import SheetWriter, neutralise_note


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ExportFormat(StrEnum):
    """The formats of commands whose rows are exported for analysis (Parquet needs a file)."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format | ExportFormat,
    *,
    title: str | None = None,
    out: TextIO | None = None,
    provenance: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    output: Path | None = None,
) -> None:
    """Write rows to `output` (or stdout), with the provenance where one is given.

    With provenance, JSON is an object {"provenance": ..., "rows": [...]}, CSV starts with
    "# " comment lines (pandas: read_csv(..., comment="#")), a table shows the notes under it
    and Parquet keeps the provenance as JSON in the schema metadata under b"vemeter".
    """
    if fmt == "parquet":
        _write_parquet(rows, columns, provenance, output)
        return
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as stream:
            _render_text(rows, columns, fmt, title, stream, provenance, notes)
        return
    _render_text(rows, columns, fmt, title, out or sys.stdout, provenance, notes)


def _render_text(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    title: str | None,
    stream: TextIO,
    provenance: dict[str, Any] | None,
    notes: Sequence[str],
) -> None:
    if fmt == "json":
        body: Any = list(rows) if provenance is None else {"provenance": provenance, "rows": rows}
        stream.write(to_json(body) + "\n")
    elif fmt == "csv":
        for note in notes:
            stream.write(f"# {neutralise_note(note)}\r\n")
        writer = SheetWriter(stream, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows({c: _csv_value(r.get(c)) for c in columns} for r in rows)
    else:
        table = Table(title=title, header_style="bold", show_lines=False)
        for c in columns:
            numeric = any(isinstance(r.get(c), int | float | Decimal | Hidden) for r in rows[:50])
            table.add_column(c, justify="right" if numeric else "left")
        cells = [[_cell(r.get(c)) for c in columns] for r in rows]
        for row in cells:
            table.add_row(*row)
        # Wide enough that no key or figure is cut short ("2025-03-…"); a terminal wraps lines.
        needed = 4 + sum(
            3 + max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)
        )
        console = Console(file=stream, width=max(100, Console(file=stream).width, needed))
        console.print(table)
        for note in notes:
            console.print(note, style="dim", soft_wrap=True, highlight=False, markup=False)


def to_json(body: Any) -> str:
    """JSON with hidden counts as null and Decimal rates as plain decimals (0.000012, not 1.2e-05)."""
    token = secrets.token_hex(8)

    def default(value: Any) -> Any:
        if isinstance(value, Hidden):
            return None
        if isinstance(value, Decimal):
            return f"{token}:{value:f}"
        return str(value)

    text = json.dumps(body, ensure_ascii=False, indent=2, default=default)
    return re.sub(rf'"{token}:(-?[0-9.]+)"', r"\1", text)


def _csv_value(value: Any) -> Any:
    return str(value) if isinstance(value, Hidden) else value


def _write_parquet(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    provenance: dict[str, Any] | None,
    output: Path | None,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if output is None and sys.stdout.isatty():
        raise VemeterError("Parquet is binary and stdout is a terminal (add --output FILE.parquet)")
    data = {c: _parquet_column([r.get(c) for r in rows]) for c in columns}
    table = pa.table(data)
    if provenance is not None:
        table = table.replace_schema_metadata(
            {b"vemeter": json.dumps(provenance, ensure_ascii=False, default=str).encode()}
        )
    if output is not None:
        pq.write_table(table, output)
    else:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        sys.stdout.buffer.flush()


def _parquet_column(values: list[Any]) -> list[Any]:
    # Suppressed counts are nulls in Parquet; the `suppressed` column says which.
    values = [
        None if isinstance(v, Hidden) else float(v) if isinstance(v, Decimal) else v for v in values
    ]
    numeric = any(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if not numeric:
        return values
    return [None if isinstance(v, str) and v.startswith("<") else v for v in values]


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return "" if value is None else str(value)
