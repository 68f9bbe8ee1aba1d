"""Poisoned imports: 50,000 rows, 50 of them bad in ten ways, on SQLite and PostgreSQL.

Exactly the good rows are stored and the bad ones are reported and quarantined by line, with
no text of theirs anywhere. Rows that are odd but good (a NUL in the text, `1.2K` views, a text
over the per-post limit) are repaired and stored, and marked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from crawler.config import load_config
from crawler.importer import LineReader, import_file, max_line_bytes
from crawler.validation import CountError, parse_count
from storage.models import CrawlRun, Post, QuarantinedRow, Tag
from tests.cli import vemeter
from tests.conftest import POSTGRES_URL

KEY = "poison-test-key-0123456789abcdef"
LEAK = "leakmarker"  # in the text of every bad row: must not reach the database
ROWS = 50_000
T = "2025-03-01T10:00:00Z"

# Ten ways to poison a row: (JSON line or raw bytes, words its reason must hold).
POISONS: list[tuple[str | bytes, str]] = [
    (json.dumps({"id": "c/\u0000x", "text": LEAK, "published_at": T}), "id: contains control"),
    (json.dumps({"id": "c/" + "9" * 200, "text": LEAK, "published_at": T}), "id: 202 characters"),
    (json.dumps({"id": "c/v", "text": LEAK, "published_at": T, "views": 1e20}), "views: 100000000000000000000 is outside"),
    (json.dumps({"id": "c/y", "text": LEAK, "published_at": "5138-01-01T00:00:00Z"}), "published_at: 5138-01-01 is outside"),
    (b'{"id": "c/u", "text": "' + LEAK.encode() + b' \xff\xfe", "published_at": "' + T.encode() + b'"}', "not valid UTF-8"),
    (json.dumps({"id": "c/big", "text": LEAK + "ж" * 5_000_000, "published_at": T}, ensure_ascii=False), "over the limit of 1,048,576"),
    (json.dumps({"id": "c/t", "text": [LEAK], "published_at": T}), "text: expected text, got list"),
    ('{"id": "c/cut", "text": "' + LEAK + " cut off mi", "not valid JSON"),
    (json.dumps({"id": "c/m", "text": LEAK, "published_at": T, "views": "many"}), "views: 'many' is not a whole number"),
    (json.dumps({"id": "c/old", "text": LEAK, "published_at": "1999-12-31"}), "published_at: 1999-12-31 is outside"),
]  # fmt: skip
# Odd but good rows, stored: (row, its input mark or None).
ODD: list[tuple[dict[str, object], str | None]] = [
    ({"text": "Погода\u0000 завтра\u0007 снег"}, "control_chars"),
    ({"text": "Погода \ud800 завтра"}, "control_chars"),  # a lone surrogate, JSON-escaped
    ({"text": "Погода", "views": "1.2K"}, None),
    ({"text": "Погода", "views": "3,4M"}, None),
    ({"text": "Погода " + "ы" * 150_000}, "text_cut"),
    ({"text": "Погода", "views": 12.0, "author": 12345}, None),
]


def bad_line(k: int) -> int:
    """Line numbers of the 50 poisoned rows, spread through the file."""
    return 997 * k + 13


def write_file(path: Path) -> dict[int, str]:
    """The 50,000-row file; returns {line: words of its reason} of the bad rows."""
    bad = {bad_line(k): k % len(POISONS) for k in range(50)}
    odd = {bad_line(k) + 1: k % len(ODD) for k in range(len(ODD))}
    with path.open("wb") as fh:
        for line in range(1, ROWS + 1):
            if line in bad:
                poison = POISONS[bad[line]][0]
                fh.write((poison if isinstance(poison, bytes) else poison.encode()) + b"\n")
                continue
            row: dict[str, object] = {
                "id": f"chan{line % 40}/{line}", "text": "Погода в Бишкеке: завтра снег",
                "published_at": 1735700000 + line * 30, "views": line, "target": f"chan{line % 40}",
            }  # fmt: skip
            if line in odd:
                row.update(ODD[odd[line]][0])
            fh.write(json.dumps(row).encode() + b"\n")
    return {line: POISONS[kind][1] for line, kind in bad.items()}


def database_url(engine: Engine, tmp_path: Path) -> str:
    """A URL for the `engine` fixture's database that the import's writer processes can open."""
    if engine.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    assert POSTGRES_URL is not None
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path={schema}"


@pytest.mark.e2e
def test_50000_rows_with_50_poisoned_store_exactly_the_good_ones(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "poisoned.jsonl"
    expected = write_file(data)
    config = tmp_path / "p.yaml"
    config.write_text(
        f"project: poison\nstorage: {{url: '{database_url(engine, tmp_path)}'}}\n"
        "import: {platform: telegram}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", KEY)
    start = time.monotonic()
    result = import_file(load_config(config), data)
    elapsed = time.monotonic() - start
    print(
        f"\n{engine.dialect.name}: {ROWS:,} rows in {elapsed:.1f} s ({ROWS / elapsed:,.0f} rows/s)"
    )
    assert (result.rows, result.new, result.seen, result.error) == (ROWS, ROWS - 50, 0, None)
    assert result.bad_count == 50 and [line for line, _ in result.bad] == sorted(expected)
    for line, reason in result.bad:
        assert expected[line] in reason, (line, reason)
        assert LEAK not in reason
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar_one() == ROWS - 50
        quarantined = conn.execute(
            select(QuarantinedRow.line, QuarantinedRow.reason, QuarantinedRow.post_id)
            .where(QuarantinedRow.run_id == result.run_id)
            .order_by(QuarantinedRow.line)
        ).all()
        marks = conn.execute(select(Tag.label, func.count()).where(Tag.kind == "input")
                             .group_by(Tag.label)).all()  # fmt: skip
        run = conn.execute(select(CrawlRun.status, CrawlRun.message)).one()
        kept = conn.execute(select(func.max(func.length(Post.text)))).scalar_one()
    assert [q.line for q in quarantined] == sorted(expected)
    assert not any(LEAK in q.reason or LEAK in (q.post_id or "") for q in quarantined)
    assert dict(marks) == {"control_chars": 2, "text_cut": 1}
    assert run.status == "partial" and "\n" not in run.message and len(run.message) < 200
    assert "49950 stored, 50 quarantined" in run.message
    assert kept is None  # keep_text: flagged, and nothing here is flagged
    assert not list(tmp_path.glob("*.unsaved-*"))  # bad rows are not for the unsaved file


@pytest.mark.e2e
def test_import_exits_0_with_a_summary_when_bad_rows_were_quarantined(tmp_path: Path) -> None:
    data = tmp_path / "dump.jsonl"
    rows = [json.dumps({"id": f"c/{i}", "text": "Погода", "published_at": T}) for i in range(4)]
    rows[1] = str(POISONS[3][0])
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nimport: {platform: telegram}\n",
        encoding="utf-8",
    )
    done = vemeter("import", str(data), "--config", str(config), env={"VEMETER_PSEUDONYM_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert f"{data}:2: published_at: 5138-01-01 is outside" in done.stderr
    assert "3 new posts" in done.stderr and "1 bad rows quarantined (each with" in done.stderr
    assert f"vemeter quarantine {config} --run 1" in done.stderr
    listed = vemeter("quarantine", str(config), "--run", "1", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["line"], row["field"]) == (2, "published_at") and "5138" in row["reason"]
    assert LEAK not in listed.stdout
    check = vemeter("import", str(data), "--config", str(config), "--check",
                    env={"VEMETER_PSEUDONYM_KEY": KEY})  # fmt: skip
    assert check.returncode == 1 and "Checked 4 rows: 1 bad." in check.stderr
    data.write_text(str(POISONS[3][0]) + "\n", encoding="utf-8")
    nothing = vemeter("import", str(data), "--config", str(config),
                      env={"VEMETER_PSEUDONYM_KEY": KEY})  # fmt: skip
    assert nothing.returncode == 1 and "every row was bad" in nothing.stderr


def test_a_line_over_the_limit_is_skipped_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"a": 1}\n' + b"x" * 3000 + b"\n" + b'{"b": 2}\n' + b"y" * 2000)
    reads: list[int] = []
    with path.open("rb") as handle:
        readline = handle.readline

        def counted(size: int = -1) -> bytes:
            reads.append(size)
            return readline(size)

        handle.readline = counted  # type: ignore[method-assign]
        reader = LineReader(handle, 1000)
        got = list(reader)
    assert [n for n, line in got if line is not None] == [1, 3]
    assert [n for n, line in got if line is None] == [2, 4]
    assert reader.problems[2].startswith("line is 3,001 bytes, over the limit of 1,000")
    assert reader.problems[4].startswith("line is 2,000 bytes")
    assert all(0 < size <= 1 << 20 for size in reads)  # never an unbounded read
    assert max_line_bytes(100_000) == 1 << 20 and max_line_bytes(1_000_000) > 6_000_000


def test_invalid_utf8_is_reported_by_line_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"id,text,published_at\nc/1,ok,2025-03-01\nc/2,caf\xe9,2025-03-01\n"
        b'c/3,"two\nlines \xff",2025-03-01\nc/4,fine,2025-03-01\n'
    )
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nimport: {platform: telegram}\n", encoding="utf-8")
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", KEY)
    result = import_file(load_config(config), path, check=True)
    assert result.rows == 4 and [line for line, _ in result.bad] == [3, 5]
    assert all(reason.startswith("not valid UTF-8 (byte 0x") for _, reason in result.bad)


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (1234, 1234), ("1234", 1234), (" 1 234 ", 1234), ("1,234,567", 1_234_567),
        ("1\u00a0234", 1234), ("1.2K", 1200), ("1,2k", 1200), ("3,4M", 3_400_000),
        ("12 тыс.", 12_000), ("1,5 млн", 1_500_000), ("2B", 2_000_000_000), ("1.2345K", 1235),
        (12.0, 12), ("-5", -5), (None, None), ("", None),
    ],
)  # fmt: skip
def test_counts_are_read_as_written(value: object, count: int | None) -> None:
    assert parse_count(value) == count


@pytest.mark.parametrize("value", ["many", "1.5", "1,5", "12 apples", 0.5, 1.5, True, [1],
                                   float("nan"), "9" * 50])  # fmt: skip
def test_what_is_not_a_count_says_so(value: object) -> None:
    with pytest.raises(CountError):
        parse_count(value)
