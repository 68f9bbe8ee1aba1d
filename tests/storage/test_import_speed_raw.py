"""SQLite's driver-level inserts (PostWriter raw_sqlite, daily_counts.add) store exactly what the
SQLAlchemy path stores, refuse what it refuses, and PostgreSQL keeps the SQLAlchemy path."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from crawler.storing import designated_by_day
from storage import daily_counts
from storage import writer as writer_module
from storage.engine import open_database, utc_naive
from storage.models import DailyCount, Post, Tag
from storage.records import PostRecord, TagRecord
from storage.writer import BatchResult, PostWriter
from tests.storage.test_storage import new_run

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456)
ASTANA = timezone(timedelta(hours=5))
TABLES = ("posts", "tags", "daily_counts")


def varied(i: int) -> PostRecord:
    """Posts that differ in every way a column can: zones, microseconds, None, flags, tags."""
    evidence: list[dict[str, Any]] = [{"term": "ИГИЛ", "start": i, "end": i + 4, "lists": ["un"]}]
    tags = [
        TagRecord("topic", "designated_org", 1.0, "lexicon", "1.abc", evidence),
        TagRecord("score", "violent_extremism", 0.25 + i / 100, "model", "2"),
    ][: i % 3]
    published = datetime(2025, 1, 1, 23, 30, i % 60, (i * 7919) % 1_000_000 * (i % 2), tzinfo=UTC)
    return PostRecord(
        platform="telegram" if i % 4 else "vk",
        source="tg-export",
        target=f"chan{i % 3}",
        post_id=f"chan{i % 3}/{i}",
        published_at=published.astimezone(ASTANA) if i % 5 == 0 else published,
        language=("ru", "kk", "en")[i % 3],
        script=None if i % 7 == 0 else "Cyrl",
        language_probability=0.5 + i / 1000,
        flagged=bool(tags) and i % 2 == 1,
        has_text=i % 6 != 0,
        text=None if i % 2 else f"текст {i}",
        language_classifier="py3langid@0.4.0",
        url=None if i % 3 else f"https://t.me/chan/{i}",
        author=None if i % 4 == 0 else f"{i:064x}",
        is_repost=i % 8 == 0,
        views=None if i % 5 == 1 else i * 1000,
        likes=2**63 - 1 if i == 9 else None,
        reposts=i,
        comments=0,
        tags=tags,
        edited=(None, True, False)[i % 3],
        forwarded_from="(hidden)" if i % 9 == 0 else None,
        is_promo=(None, False, True)[i % 3],
    )


def dump(path: Path) -> dict[str, list[dict[str, tuple[str, str]]]]:
    """Every row of the written tables: each column's SQLite storage class and quoted value."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            shown = ", ".join(f"typeof({c}), quote({c})" for c in columns)
            rows = sorted(conn.execute(f"SELECT {shown} FROM {table}").fetchall())
            out[table] = [
                {c: (row[2 * n], row[2 * n + 1]) for n, c in enumerate(columns)} for row in rows
            ]
        return out
    finally:
        conn.close()


def summary(result: BatchResult) -> tuple[Any, ...]:
    return (result.new, result.seen, result.flagged, dict(result.per_target_new),
            dict(result.per_target_seen), dict(result.per_target_flagged), result.text_filled)  # fmt: skip


def write_both(
    tmp_path: Path, batches: list[list[PostRecord]], keep_text: str = "all"
) -> tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]]:
    """The same batches through the raw path and the SQLAlchemy path, into two new files."""
    dumps, results = [], []
    for raw in (True, False):
        path = tmp_path / f"{'raw' if raw else 'core'}.db"
        engine = open_database(f"sqlite:///{path}")
        writer = PostWriter(engine, new_run(engine), keep_text, raw_sqlite=raw)
        results.append([summary(writer.write([replace(r) for r in b])) for b in batches])
        engine.dispose()
        dumps.append(dump(path))
    return dumps[0], dumps[1], results[0], results[1]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "utc_now", lambda: NOW)


def test_raw_inserts_store_exactly_what_sqlalchemy_stores(tmp_path: Path) -> None:
    first = [varied(i) for i in range(40)]
    # A second batch repeats half of the first (seen, text filled) and adds new posts.
    second = [replace(varied(i), text=f"later {i}") for i in range(20, 60)]
    raw, core, raw_results, core_results = write_both(tmp_path, [first, second])
    assert raw_results == core_results
    assert raw == core
    assert len(raw["posts"]) == 60 and len(raw["tags"]) == 60
    # What the comparison covers: each storage class the SQLAlchemy types produce.
    stamps = {row["published_at"] for row in raw["posts"]}
    assert ("text", "'2025-01-01 23:30:00.000000'") in stamps  # +05:00, no microseconds, UTC
    assert {row["day"] for row in raw["posts"]} == {("text", "'2025-01-01'")}
    assert ("integer", "1") in {row["flagged"] for row in raw["posts"]}
    evidence = {(kind, value[:4]) for kind, value in (row["evidence"] for row in raw["tags"])}
    assert evidence == {("text", "'nul"), ("text", "'[{\"")}


def test_raw_inserts_split_statements_and_keep_each_tag_on_its_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "RAW_POSTS_PER_STATEMENT", 3)
    records = [varied(i) for i in range(1, 12)]
    raw, core, raw_results, core_results = write_both(tmp_path, [records])
    assert raw == core and raw_results == core_results
    engine = open_database(f"sqlite:///{tmp_path / 'raw.db'}")
    with engine.connect() as conn:
        pairs = conn.execute(select(Post.post_id, Tag.score).join(Tag, Tag.post_pk == Post.id))
        scores = {post_id: score for post_id, score in pairs if score != 1.0}
    engine.dispose()
    assert scores == {r.post_id: r.tags[1].score for r in records if len(r.tags) == 2}


def test_sqlite_takes_the_raw_path_and_falls_back_for_values_only_sqlalchemy_converts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite = engine.dialect.name == "sqlite"
    core_calls: list[int] = []
    core = PostWriter._insert_posts

    def counted(self: PostWriter, conn: Any, records: Any) -> Any:
        core_calls.append(1)
        return core(self, conn, records)

    monkeypatch.setattr(PostWriter, "_insert_posts", counted)
    writer = PostWriter(engine, new_run(engine))
    assert writer.write([varied(i) for i in range(5)]).new == 5
    assert core_calls == ([] if sqlite else [1])  # PostgreSQL: always SQLAlchemy's types
    # An int where a flag belongs: SQLAlchemy's Boolean stores 1 (the driver would too, but only
    # SQLAlchemy decides which values it takes), so the batch goes its way.
    odd = replace(varied(7), flagged=1)  # type: ignore[arg-type]
    assert writer.write([odd]).new == 1
    assert core_calls == ([1] if sqlite else [1, 1])


def test_refusals_are_the_same_on_both_paths(tmp_path: Path) -> None:
    unjson: list[dict[str, Any]] = [{"s": {1}}]  # a set: json cannot write it
    bad_json = replace(varied(4), tags=[TagRecord("topic", "x", 1.0, "l", "1", unjson)])
    bad_flag = replace(varied(5), is_repost="yes")  # type: ignore[arg-type]
    batch = [varied(1), varied(2), bad_json, bad_flag, varied(6)]
    outcomes = []
    for raw in (True, False):
        path = tmp_path / f"{raw}.db"
        engine = open_database(f"sqlite:///{path}")
        result, refused = PostWriter(engine, new_run(engine), raw_sqlite=raw).write_isolated(
            [replace(r) for r in batch]
        )
        engine.dispose()
        outcomes.append((summary(result), refused, dump(path)))
    assert outcomes[0] == outcomes[1]
    assert [i for i, _ in outcomes[0][1]] == [2, 3]


def test_daily_counts_add_raw_matches_sqlalchemy_with_moves_and_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2025, 1, 1)
    key = ("vk", "s", "t", "ru")
    steps = [
        (
            {(*key, "*", day): 3, (*key, "x", day): 2, (*key, "(none)", day): 1},
            {(*key, "x", day): 2},
        ),
        ({(*key, "x", day): -2, (*key, "y", day + timedelta(days=1)): 2}, {(*key, "x", day): -2}),
    ]
    dumps = []
    for raw in (True, False):
        if raw:  # SQLite takes the driver's path: the SQLAlchemy one would fail here
            monkeypatch.setattr(daily_counts, "_add_core", None)
        else:
            monkeypatch.undo()
            monkeypatch.setattr(daily_counts, "_SQLITE_UPSERT", "not SQL: the raw path was taken")
            monkeypatch.setattr(
                "storage.daily_counts.date", type("NoDate", (), {})
            )  # no key is a date: the SQLAlchemy path
        path = tmp_path / f"dc{raw}.db"
        engine = open_database(f"sqlite:///{path}")
        for posts, flagged in steps:
            with engine.begin() as conn:
                daily_counts.add(conn, posts, flagged)
        with engine.connect() as conn:
            rows = conn.execute(select(DailyCount.topic, DailyCount.day, DailyCount.posts)).all()
        engine.dispose()
        assert sorted(rows) == [
            ("(none)", day, 1),
            ("*", day, 3),
            ("y", day + timedelta(days=1), 2),
        ]
        dumps.append(dump(path)["daily_counts"])
    assert dumps[0] == dumps[1]


def test_postgresql_stores_the_same_posts_tags_and_counts_as_sqlite_raw(
    engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("compares PostgreSQL (SQLAlchemy path) with SQLite (raw path)")
    lite = open_database(f"sqlite:///{tmp_path / 'lite.db'}")
    batches = [[varied(i) for i in range(30)], [varied(i) for i in range(15, 45)]]
    results = []
    for eng in (engine, lite):
        writer = PostWriter(eng, new_run(eng), "all")
        results.append([summary(writer.write([replace(r) for r in b])) for b in batches])
    assert results[0] == results[1]

    def content(eng: Engine) -> tuple[list[Any], list[Any], list[Any]]:
        cols = [c for c in Post.__table__.c if c.name not in ("id", "run_id", "collected_at")]
        with eng.connect() as conn:
            posts = sorted(tuple(r) for r in conn.execute(select(*cols)))
            tags = sorted(
                (pid, k, lbl, round(s, 6), c, v, repr(e))
                for pid, k, lbl, s, c, v, e in conn.execute(
                    select(
                        Post.post_id,
                        Tag.kind,
                        Tag.label,
                        Tag.score,
                        Tag.classifier,
                        Tag.version,
                        Tag.evidence,
                    ).join(Post, Post.id == Tag.post_pk)
                )
            )
            counts = sorted(tuple(r) for r in conn.execute(select(DailyCount)).all())
        naive = [tuple(utc_naive(v) if isinstance(v, datetime) else v for v in p) for p in posts]
        return naive, tags, counts

    assert content(engine) == content(lite)
    lite.dispose()


def test_designations_are_asked_once_per_family_and_day() -> None:
    calls: list[tuple[str, datetime]] = []

    def lists(family: str, when: datetime) -> tuple[str, ...] | None:
        calls.append((family, when))
        return None if family == "own" else (f"{family}-{when.date()}",)

    cached = designated_by_day(lists)
    morning = datetime(2025, 1, 1, 8, tzinfo=UTC)
    asked = [("isis", morning), ("isis", morning + timedelta(hours=9)), ("own", morning),
             ("own", morning), ("isis", morning + timedelta(days=1))]  # fmt: skip
    assert [cached(f, w) for f, w in asked] == [lists(f, w) for f, w in asked]
    assert len(calls) == 3 + len(asked)  # 3 distinct (family, day), then the direct calls
