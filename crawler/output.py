"""Print rows the same way in every command: a Rich table, CSV or JSON, always to stdout."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    title: str | None = None,
    out: TextIO | None = None,
) -> None:
    stream = out or sys.stdout
    if fmt is Format.json:
        stream.write(json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.csv:
        writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: r.get(c) for c in columns} for r in rows)
    else:
        table = Table(title=title, header_style="bold", show_lines=False)
        for c in columns:
            numeric = bool(rows) and isinstance(rows[0].get(c), int | float)
            table.add_column(c, justify="right" if numeric else "left")
        for r in rows:
            table.add_row(*[_cell(r.get(c)) for c in columns])
        Console(file=stream, width=max(100, Console(file=stream).width)).print(table)


def _cell(value: Any) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)
