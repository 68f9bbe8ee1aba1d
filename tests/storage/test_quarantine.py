"""Validation before the database, per-row isolation in the writer, and the quarantine table:
one bad post never costs a good one, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError

from storage.models import DailyCount, Post, QuarantinedRow
from storage.quarantine import QuarantineEntry, describe_error, list_quarantine, record_quarantine
from storage.records import PostRecord, input_tags
from storage.runs import start_run
from storage.validation import (
    MAX_COUNT,
    check_post,
    clean_input_text,
    latest_allowed,
    safe_text,
)
from storage.writer import PostWriter, StoreUnavailable, is_row_error

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(post_id: str = "-1_1", **changes: object) -> PostRecord:
    base = PostRecord("vk", "s", "club1", post_id, T0, "ru", "Cyrl", 0.9, False, True)
    return dataclasses.replace(base, **changes)


def new_run(engine: Engine) -> int:
    return start_run(engine, project="p", config_hash="h", version="0", classifiers={})


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"post_id": "x" * 97}, "post_id", "97 characters, over the limit of 96"),
        ({"post_id": "a\x00b"}, "post_id", "control characters"),
        ({"post_id": "a\ud800"}, "post_id", "invalid Unicode"),
        ({"post_id": ""}, "post_id", "missing"),
        ({"post_id": {"a": 1}}, "post_id", "expected text, got dict"),
        ({"platform": "p" * 17}, "platform", "over the limit of 16"),
        ({"source": "s" * 65}, "source", "over the limit of 64"),
        ({"target": "t" * 129}, "target", "over the limit of 128"),
        ({"url": "https://e.invalid/" + "u" * 500}, "url", "over the limit of 512"),
        ({"author": "a\nb"}, "author", "control characters"),
        ({"forwarded_from": "f" * 129}, "forwarded_from", "over the limit of 128"),
        ({"views": 2**63}, "views", "is outside 0…9223372036854775807"),
        ({"likes": -1}, "likes", "is outside 0…"),
        ({"reposts": 1e20}, "reposts", "expected a whole number, got float"),
        ({"comments": True}, "comments", "expected a whole number, got bool"),
        ({"published_at": datetime(5138, 1, 1, tzinfo=UTC)}, "published_at", "5138-01-01 is outside"),
        ({"published_at": datetime(2003, 12, 31, tzinfo=UTC)}, "published_at", "is outside 2004-01-01"),
        ({"published_at": NOW + timedelta(days=2)}, "published_at", "more than a day ahead"),
        ({"published_at": datetime(2025, 1, 1)}, "published_at", "no time zone"),
        ({"published_at": "2025-01-01"}, "published_at", "expected a date, got str"),
        ({"is_repost": 1}, "is_repost", "expected true or false"),
        ({"edited": 1}, "edited", "expected true or false"),
    ],
)  # fmt: skip
def test_check_post_names_the_field_and_never_echoes_the_value(
    changes: dict[str, object], field: str, words: str
) -> None:
    problem = check_post(record(**changes), latest_allowed(NOW))
    assert problem is not None and problem.field == field and words in problem.reason
    assert "xxxx" not in problem.reason and "uuuu" not in problem.reason


def test_check_post_passes_good_posts_at_the_edges() -> None:
    latest = latest_allowed(NOW)
    good = [
        record("-1_1"),
        record("x" * 96, views=MAX_COUNT, likes=0, url="u" * 512, author="a" * 64),
        record("-1_2", published_at=datetime(2004, 1, 1, tzinfo=UTC)),
        record("-1_3", published_at=NOW + timedelta(hours=23)),  # a time zone ahead
        record("-1_4", target="Бишкек\u00a0новости", edited=True, is_promo=False),  # printable-ish
    ]
    assert [check_post(r, latest) for r in good] == [None] * len(good)


def test_clean_input_text_strips_controls_and_cuts_after() -> None:
    assert clean_input_text("a\x00b\x07c\td\ne\r", 100) == ("abc\td\ne\r", 2, 0)
    assert clean_input_text("a\ud800" + "z" * 20, 10) == ("a" + "z" * 9, 1, 11)
    assert clean_input_text("plain", 5) == ("plain", 0, 0)
    tags = input_tags(2, 11)
    assert [(t.kind, t.label, t.evidence) for t in tags] == [
        ("input", "control_chars", [{"removed": 2}]),
        ("input", "text_cut", [{"cut": 11}]),
    ]
    assert input_tags(0, 0) == []


def test_safe_text_and_describe_error_are_one_short_line() -> None:
    assert safe_text("a\x00b\nc" + "d" * 100, 10) == "a b c" + "d" * 4 + "…"
    exc = DataError(
        "INSERT INTO posts (text) VALUES (%(text)s)", {"text": "secret post text"},
        ValueError("value too long for type character varying(96)\nDETAIL: more"),
    )  # fmt: skip
    assert describe_error(exc) == "ValueError: value too long for type character varying(96)"
    assert "secret" not in describe_error(exc) and "INSERT" not in describe_error(exc)


def test_row_errors_and_database_errors_are_told_apart() -> None:
    orig = Exception("x")
    assert is_row_error(DataError("s", {}, orig))
    assert is_row_error(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert is_row_error(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert not is_row_error(OperationalError("s", {}, orig))  # down, locked, table missing
    assert not is_row_error(ProgrammingError("s", {}, orig))


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Post.post_id)).scalars())


def test_a_batch_the_database_refuses_is_bisected_to_its_bad_rows(engine: Engine) -> None:
    """Values both databases refuse (validation would stop them; this is the last line)."""
    writer = PostWriter(engine, new_run(engine))
    bad = {3: {"views": 10**20}, 11: {"text": "a\ud800b"}, 12: {"likes": 2**64}}
    records = [record(f"-1_{i}", **bad.get(i, {})) for i in range(20)]
    result, refused = writer.write_isolated(records)
    assert (result.new, result.seen) == (17, 0)
    assert [i for i, _ in refused] == [3, 11, 12]
    assert all(len(reason) < 200 and "\n" not in reason for _, reason in refused)
    assert stored_ids(engine) == {f"-1_{i}" for i in range(20) if i not in bad}
    with engine.connect() as conn:  # counted once each: the refused halves left nothing behind
        total = conn.execute(
            select(func.sum(DailyCount.posts)).where(DailyCount.topic == "*")
        ).scalar_one()
    assert total == 17
    again, none = writer.write_isolated(records[:3])
    assert (again.new, again.seen, none) == (0, 3, [])


def test_a_database_failure_is_not_blamed_on_rows(engine: Engine) -> None:
    writer = PostWriter(engine, new_run(engine))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tags")  # every insert of a tagged post now fails
    plain = [record(f"-1_{i}") for i in range(4)]  # no tags: stored
    tagged = [record(f"-2_{i}", tags=input_tags(1, 0)) for i in range(6)]
    with pytest.raises(StoreUnavailable) as caught:
        writer.write_isolated(plain + tagged)
    assert caught.value.remaining == list(range(10))  # nothing bisected, nothing quarantined
    assert "tags" in caught.value.error and len(caught.value.error) <= 300
    assert stored_ids(engine) == set()


def test_quarantine_rows_hold_ids_and_reasons_any_database_takes(engine: Engine) -> None:
    run = new_run(engine)
    entries = [
        QuarantineEntry("views: 100000000000000000000 is outside 0…", line=7, field="views",
                        platform="telegram", source="import:x", target="chan", post_id="c/1"),
        QuarantineEntry("r" * 2000, post_id="a\x00" + "b" * 300, target="t\ud800"),
        QuarantineEntry("not valid UTF-8 (byte 0xff at byte 3 of the line)", line=2**40),
    ]  # fmt: skip
    assert record_quarantine(engine, run, entries) == 3
    rows = list_quarantine(engine, run)
    assert (rows[0].line, rows[0].field, rows[0].post_id) == (7, "views", "c/1")
    assert len(rows[1].reason) == 512 and len(rows[1].post_id or "") == 96
    assert "\x00" not in (rows[1].post_id or "") and rows[1].target == "t"
    assert rows[2].line is None  # beyond the column: dropped, the reason still says what
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(QuarantinedRow)).scalar_one() == 3
    assert list_quarantine(engine, run + 1) == []
