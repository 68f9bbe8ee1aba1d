"""Import rows on hostile input: every line of a file is a post or a bad row with its reason.

Drives crawler.importer's public row reading (`LineReader` + `read_rows`) and row mapping
(`RowMapper`) only; the import's storage path has tests of its own.
"""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from crawler.config import ImportSettings
from crawler.importer import LineReader, RowError, RowMapper, read_rows
from crawler.items import PostItem
from tests.faults.strategies import BOUNDED, HOSTILE_TEXT, hostile_values, mutated_bytes

FIELDS = ["id", "text", "published_at", "author", "views", "url", "platform", "source", "target"]
GOOD = {"id": "c1/100", "text": "Короткий текст.", "published_at": "2025-03-01T10:00:00Z",
        "author": "someone", "views": "1.2K", "url": "https://t.me/c1/100"}  # fmt: skip


def mapper() -> RowMapper:
    return RowMapper(
        ImportSettings(), "telegram", None, "import:test", lambda _p, a: f"pseud{a!s:.8}"
    )


@st.composite
def hostile_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4)):
        row[key] = draw(st.one_of(hostile_values, st.sampled_from(HOSTILE_TEXT)))
    return row


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def csv_file(rows: list[dict[str, Any]]) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def read(body: bytes, fmt: str) -> list[tuple[int, PostItem | str]]:
    """Every row of a file: (line, post) or (line, reason); no exception may escape."""
    lines = LineReader(io.BufferedReader(io.BytesIO(body)), 4096)  # type: ignore[arg-type]
    to_post = mapper()
    out: list[tuple[int, PostItem | str]] = []
    for number, row in read_rows(lines, fmt):
        assert isinstance(number, int) and number >= 1
        if isinstance(row, str):
            out.append((number, row))
            continue
        try:
            out.append((number, to_post(row)))
        except RowError as exc:
            out.append((number, str(exc)))
    return out


@BOUNDED
@given(st.lists(hostile_rows(), min_size=1, max_size=6), st.sampled_from(["jsonl", "csv"]))
@example(rows=[{**GOOD, "published_at": "0001-01-01T00:00:00+05:00"}], fmt="jsonl")
def test_rows_of_hostile_values_give_a_post_or_a_reason_per_row(
    rows: list[dict[str, Any]], fmt: str
) -> None:
    for row in rows:  # one by one, as RowMapper sees them
        try:
            item = mapper()(row)
        except RowError as exc:
            assert str(exc) and "\n" not in str(exc)
            continue
        assert isinstance(item, PostItem) and item.published_at.tzinfo is not None
        assert item.views is None or 0 <= item.views < 2**63
    body = jsonl(rows) if fmt == "jsonl" else csv_file(rows)  # and as a file
    got = read(body, fmt)
    if fmt == "jsonl":  # one row per line, in order
        assert [n for n, _ in got] == list(range(1, len(rows) + 1))
    for _, outcome in got:
        assert isinstance(outcome, PostItem) or (isinstance(outcome, str) and outcome)


@BOUNDED
@given(st.data())
def test_files_cut_off_or_spoiled_give_a_post_or_a_reason_per_row(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(["jsonl", "csv"]))
    whole = jsonl([GOOD] * 3) if fmt == "jsonl" else csv_file([GOOD] * 3)
    body = data.draw(st.one_of(mutated_bytes(whole), st.binary(max_size=300)))
    for _, outcome in read(body, fmt):
        assert isinstance(outcome, PostItem) or (isinstance(outcome, str) and outcome)


def test_a_csv_whose_header_cannot_be_read_is_reported_at_line_1() -> None:
    assert [n for n, _ in read(b"id,text\r\x00\n", "csv")] == [1]
