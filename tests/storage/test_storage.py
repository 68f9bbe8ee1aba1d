"""Storage: migrations, idempotent batched writes, run records, resume points and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crawler.errors import StorageError
from storage.engine import SCHEMA_HEAD, current_revision, head_revision, make_engine, open_database
from storage.models import Post, Tag
from storage.records import PostRecord, TagRecord
from storage.runs import (
    TargetOutcome,
    finish_run,
    get_run,
    load_resume_points,
    record_targets,
    run_targets,
    start_run,
)
from storage.stats import count_posts
from storage.writer import PostWriter

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def record(
    i: int,
    *,
    target: str = "club1",
    lang: str = "ru",
    flagged: bool = False,
    day: int = 0,
    topics: tuple[str, ...] = (),
) -> PostRecord:
    tags = [TagRecord("language", lang, 0.9, "py3langid", "0.4.0")]
    tags += [
        TagRecord("topic", t, 1.0, "lexicon", "1.abc", [{"term": "x", "start": 0, "end": 1}])
        for t in topics
    ]
    return PostRecord(
        platform="vk",
        source="s",
        target=target,
        post_id=f"-1_{i}",
        published_at=T0 + timedelta(days=day),
        language=lang,
        script="Cyrl",
        language_probability=0.9,
        flagged=flagged,
        has_text=True,
        tags=tags,
    )


def new_run(engine: Engine) -> int:
    return start_run(
        engine,
        project="p",
        config_hash="abc",
        version="0.1",
        classifiers={"lexicon": "lexicon@1.abc"},
    )


def test_new_sqlite_file_is_migrated_automatically(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'sub' / 'new.db'}")
    assert current_revision(engine) == head_revision()


def test_existing_database_without_schema_asks_for_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    make_engine(url).connect().close()  # an empty file
    with pytest.raises(StorageError, match="no vemeter tables"):
        open_database(url, auto_upgrade_new_sqlite=False)


def test_writes_are_idempotent_across_batches_and_runs(engine: Engine) -> None:
    run = new_run(engine)
    writer = PostWriter(engine, run)
    first = writer.write(
        [record(i, flagged=i < 2, topics=("designated_org",) if i < 2 else ()) for i in range(10)]
    )
    assert (first.new, first.seen, first.flagged) == (10, 0, 2)
    again = PostWriter(engine, new_run(engine)).write([record(i) for i in range(5, 15)])
    assert (again.new, again.seen) == (5, 5)
    assert again.per_target_new[("s", "club1")] == 5
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar_one() == 15
        assert (
            conn.execute(
                select(func.count()).select_from(Tag).where(Tag.kind == "topic")
            ).scalar_one()
            == 2
        )


def test_duplicates_inside_one_batch_are_counted_once(engine: Engine) -> None:
    result = PostWriter(engine, new_run(engine)).write([record(1), record(1), record(2)])
    assert (result.new, result.seen) == (2, 1)


def test_counts_group_by_keys_and_window(engine: Engine) -> None:
    writer = PostWriter(engine, new_run(engine))
    writer.write(
        [
            record(
                1, target="a", lang="ru", flagged=True, topics=("designated_org", "recruitment")
            ),
            record(2, target="a", lang="kk", day=1),
            record(3, target="b", lang="ru", flagged=True, topics=("designated_org",), day=1),
        ]
    )
    assert count_posts(engine, []) == [{"posts": 3, "flagged": 2}]
    assert count_posts(engine, ["target"]) == [
        {"target": "a", "posts": 2, "flagged": 1},
        {"target": "b", "posts": 1, "flagged": 1},
    ]
    assert count_posts(engine, ["topic"]) == [
        {"topic": "(none)", "posts": 1, "flagged": 0},
        {"topic": "designated_org", "posts": 2, "flagged": 2},
        {"topic": "recruitment", "posts": 1, "flagged": 1},
    ]
    by_day = count_posts(engine, ["day", "language"], since=T0 + timedelta(hours=1))
    assert by_day == [
        {"day": "2025-03-02", "language": "kk", "posts": 1, "flagged": 0},
        {"day": "2025-03-02", "language": "ru", "posts": 1, "flagged": 1},
    ]
    assert count_posts(engine, [], until=T0) == [{"posts": 0, "flagged": 0}]


def test_run_records_and_resume_points(engine: Engine) -> None:
    run = new_run(engine)
    newest = T0 + timedelta(days=2)
    record_targets(
        engine,
        run,
        [
            TargetOutcome("vk", "s", "a", "ok", None, 10, 0, True, "-1_99", newest),
            TargetOutcome(
                "vk", "s", "b", "error", "HTTP 503 after 6 attempts", 3, 0, False, "-2_5", newest
            ),
        ],
    )
    finish_run(engine, run, status="partial", new=13, seen=0, flagged=1, requests=7)
    finished = get_run(engine, run)
    assert finished is not None and finished.status == "partial" and finished.posts_new == 13
    assert {t.target: t.status for t in run_targets(engine, run)} == {"a": "ok", "b": "error"}
    resume = load_resume_points(engine, "vk", "s")
    # Only a complete target moves its resume point; an interrupted one is fetched again.
    assert set(resume) == {"a"}
    assert resume["a"].newest_post_id == "-1_99" and resume["a"].newest_published_at == newest
    later = new_run(engine)
    record_targets(
        engine, later, [TargetOutcome("vk", "s", "a", "ok", None, 0, 0, True, None, None)]
    )
    assert load_resume_points(engine, "vk", "s")["a"].newest_post_id == "-1_99"


def test_schema_head_constant_matches_the_migrations() -> None:
    from alembic.script import ScriptDirectory

    from storage.engine import MIGRATIONS, SCHEMA_HEAD

    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == SCHEMA_HEAD


def test_text_past_retention_is_erased_and_counts_stay(engine: Engine) -> None:
    from storage.retention import erase_old_text

    rec = record(1, flagged=True)
    rec.text = "kept only while needed"
    PostWriter(engine, new_run(engine)).write([rec])
    assert erase_old_text(engine, 30) == 0  # collected just now
    assert erase_old_text(engine, None, now=datetime.now(UTC) + timedelta(days=400)) == 0
    assert erase_old_text(engine, 30, now=datetime.now(UTC) + timedelta(days=31)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Post.text)).scalar_one() is None
    assert count_posts(engine, []) == [{"posts": 1, "flagged": 1}]


def test_migrations_from_0001_move_language_tags_and_backfill_daily_counts(tmp_path: Path) -> None:
    from alembic import command

    from storage.engine import _alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        cfg = _alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO crawl_runs (id, project, config_hash, vemeter_version, classifiers, started_at, "
            "status, posts_new, posts_seen, posts_flagged, requests) "
            "VALUES (1, 'p', 'h', '0', '{}', '2025-01-01', 'ok', 1, 0, 0, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO posts (id, platform, source, target, post_id, published_at, day, language, "
            "language_probability, flagged, is_repost, has_text, run_id, collected_at) "
            "VALUES (1, 'vk', 's', 't', '-1_1', '2025-01-01', '2025-01-01', 'ru', 0.9, 0, 0, 1, 1, '2025-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO tags (post_pk, kind, label, score, classifier, version) "
            "VALUES (1, 'language', 'ru', 0.9, 'py3langid', '0.4.0')"
        )
    assert upgrade(engine) == ("0001", SCHEMA_HEAD)
    with engine.connect() as conn:
        assert conn.execute(select(Post.language_classifier)).scalar_one() == "py3langid@0.4.0"
        assert conn.execute(select(func.count()).select_from(Tag)).scalar_one() == 0
    assert count_posts(engine, ["topic", "language"]) == [
        {"topic": "(none)", "language": "ru", "posts": 1, "flagged": 0}
    ]
    assert count_posts(engine, []) == [{"posts": 1, "flagged": 0}]


def test_daily_counts_give_the_same_answers_as_the_posts(engine: Engine) -> None:
    import itertools
    import random

    from storage.stats import GROUP_KEYS, _from_posts

    rng = random.Random(3)
    topics = ["designated_org", "recruitment", "financing"]
    writer = PostWriter(engine, new_run(engine))
    records = [
        record(i, target=rng.choice("abc"), lang=rng.choice(["ru", "kk", "uz"]), day=rng.randrange(5),
               flagged=(picked := rng.random() < 0.3),
               topics=tuple(rng.sample(topics, rng.randint(1, 2))) if picked else ())
        for i in range(300)
    ]  # fmt: skip
    writer.write(records[:200])
    writer.write(records[100:])  # half of it again: stored once, counted once
    since, until = T0.replace(hour=0) + timedelta(days=1), T0.replace(hour=0) + timedelta(days=4)
    for n in range(3):
        for keys in itertools.combinations(GROUP_KEYS, n):
            by = list(keys)
            assert count_posts(engine, by) == _from_posts(engine, by, None, None), by
            assert count_posts(engine, by, since=since, until=until) == _from_posts(
                engine, by, since, until
            ), by
    assert count_posts(engine, []) == [{"posts": 300, "flagged": sum(r.flagged for r in records)}]


def test_a_window_inside_a_day_counts_from_the_posts(engine: Engine) -> None:
    writer = PostWriter(engine, new_run(engine))
    writer.write([record(1), record(2)])  # both at 12:00 on T0's day
    assert count_posts(engine, [], since=T0 + timedelta(hours=1)) == [{"posts": 0, "flagged": 0}]
    assert count_posts(engine, [], since=T0.replace(hour=0)) == [{"posts": 2, "flagged": 0}]


def test_a_server_keeps_its_postgresql_connections_open() -> None:
    """The review server's engine keeps one connection per concurrent request (no churn);
    SQLite engines keep SQLAlchemy's own pool."""
    from sqlalchemy.pool import QueuePool

    from storage.engine import make_engine

    url = "postgresql+psycopg://u:p@127.0.0.1:1/none"  # never connected to
    server = make_engine(url, connections=20)
    pool, default = server.pool, make_engine(url).pool
    assert isinstance(pool, QueuePool) and isinstance(default, QueuePool)
    assert (pool.size(), pool._max_overflow, default.size()) == (20, 20, 5)
    assert make_engine("sqlite:///:memory:", connections=20).dialect.name == "sqlite"
