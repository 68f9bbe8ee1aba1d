"""CSV sheets that are safe to open in a spreadsheet, and read back as they were written.

Post text, target names and notes come from anyone on the internet; a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is evaluated as a formula by Excel and
LibreOffice (CSV injection). Every text cell that vemeter writes goes through `neutralise`
(the OWASP rule: prefix a single quote, so the spreadsheet shows the cell as text), and every
sheet it reads goes through `restore`, which undoes exactly that. A cell that already begins
with a quote gets a second one, so `restore(neutralise(v)) == v` for every string.

Reading sniffs the separator from the header line (``,``, ``;`` as Excel writes in most of
Europe and Central Asia, or a tab) and drops a UTF-8 byte-order mark.

Numbers (int, float, Decimal) are written as they are, unquoted: they cannot be formulas. Text
cells are always quoted, so a separator inside one never splits it, whatever separator the
spreadsheet assumes.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = [
    "DELIMITERS",
    "TRIGGERS",
    "SheetReader",
    "SheetWriter",
    "neutralise",
    "neutralise_note",
    "restore",
    "sniff_delimiter",
]

# What makes a spreadsheet evaluate a cell (OWASP, "CSV Injection").
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
DELIMITERS = (",", ";", "\t")
# Where a formula can begin: the start of a cell, and (should a spreadsheet split the cell at
# a separator it assumes, or a line break) the start of each piece; spaces are skipped.
_BOUNDARY = r"(^|[,;\t\n\r])( *)"
_ESCAPE = re.compile(_BOUNDARY + r"(?=[=+\-@\t\r'])")
_UNESCAPE = re.compile(_BOUNDARY + r"'(?=[=+\-@\t\r'])")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet shows as text; other values unchanged.

    A quote goes before every =, +, -, @, tab, CR or quote that begins the cell or a piece of
    it after a , ; tab or line break (spaces skipped), so that the cell stays text even when a
    spreadsheet splits it at a separator it assumes.

    >>> neutralise('=HYPERLINK("http://evil.example")')
    '\'=HYPERLINK("http://evil.example")'
    """
    if isinstance(value, str):
        return _ESCAPE.sub(lambda m: m.group(1) + m.group(2) + QUOTE, value)
    return value


def restore(value: str) -> str:
    """Undo `neutralise`: a quote where it puts one (before a trigger or a quote) is dropped.

    A quote before anything else (a reviewer's "'tis fine") is left alone: vemeter never writes
    one there.
    """
    return _UNESCAPE.sub(lambda m: m.group(1) + m.group(2), value)


def neutralise_note(note: str) -> str:
    """A free-text comment line ("# …" above a table, unquoted) made safe the same way."""
    return str(neutralise(note))


class SheetWriter(csv.DictWriter):  # type: ignore[type-arg]  # typeshed: DictWriter[str]
    """csv.DictWriter whose text cells are neutralised and quoted; CRLF line ends (RFC 4180)."""

    def __init__(self, stream: TextIO, fieldnames: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("lineterminator", "\r\n")  # RFC 4180; also quotes a lone CR
        # Every text cell quoted: a ";" inside one never splits it in a spreadsheet whose
        # separator is ";" (where the piece after it could begin with "=").
        kwargs.setdefault("quoting", csv.QUOTE_NONNUMERIC)
        super().__init__(stream, fieldnames=list(fieldnames), **kwargs)
        self._stream = stream

    def writeheader(self) -> Any:
        # Column names are vemeter's own: minimal quoting keeps the header line plain.
        header = csv.writer(
            self._stream,
            delimiter=self.writer.dialect.delimiter,
            lineterminator=self.writer.dialect.lineterminator,
        )
        return header.writerow([neutralise(name) for name in self.fieldnames])

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: neutralise(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def sniff_delimiter(header: str) -> str:
    """The separator of a sheet from its header line: the most frequent of , ; and tab."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class SheetReader(csv.DictReader):  # type: ignore[type-arg]  # typeshed: DictReader[str]
    """csv.DictReader for sheets written by vemeter and edited in a spreadsheet.

    The separator is sniffed from the first line, a byte-order mark is dropped and every cell
    (and column name) is `restore`d. `line_num` counts lines of the file, as csv's does.
    """

    def __init__(self, stream: Iterable[str], **kwargs: Any) -> None:
        lines = iter(stream)
        first = next(lines, "")
        if first.startswith("\ufeff"):
            first = first[1:]
        kwargs.setdefault("delimiter", sniff_delimiter(first))
        super().__init__(itertools.chain([first], lines), **kwargs)
        if self._fieldnames is None:  # type: ignore[has-type]
            header = next(self.reader, None)
            self._fieldnames = None if header is None else [restore(n) for n in header]
            self.line_num = self.reader.line_num

    def __next__(self) -> dict[str | Any, str | Any]:
        row = super().__next__()
        return {k: _restore_cell(v) for k, v in row.items()}


def _restore_cell(value: Any) -> Any:
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, list):  # the extra cells of a row longer than its header
        return [restore(v) if isinstance(v, str) else v for v in value]
    return value
