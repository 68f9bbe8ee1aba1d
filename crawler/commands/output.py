"""Print rows the same way in every command: a Rich table, CSV, JSON or Parquet."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from crawler.errors import VemeterError


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
        stream.write(json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "csv":
        for note in notes:
            stream.write(f"# {note}\n")
        writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: r.get(c) for c in columns} for r in rows)
    else:
        table = Table(title=title, header_style="bold", show_lines=False)
        for c in columns:
            numeric = any(isinstance(r.get(c), int | float) for r in rows[:50])
            table.add_column(c, justify="right" if numeric else "left")
        for r in rows:
            table.add_row(*[_cell(r.get(c)) for c in columns])
        console = Console(file=stream, width=max(100, Console(file=stream).width))
        console.print(table)
        for note in notes:
            console.print(note, style="dim", soft_wrap=True, highlight=False, markup=False)


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
    # Suppressed counts ("<k") are nulls in Parquet; the `suppressed` column says which.
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
    numeric = any(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if not numeric:
        return values
    # Suppressed counts ("<k") are nulls in Parquet; the `suppressed` column says which.
    return [None if isinstance(v, str) and v.startswith("<") else v for v in values]


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
