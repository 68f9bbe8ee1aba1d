"""Benchmark: `stats --by platform,language,day` over millions of stored posts, SQLite and PostgreSQL.

The same query answered from daily_counts (what `vemeter stats` does) and by scanning the
posts table (the baseline), in one run. Posts are generated straight into a fresh SQLite file
(no crawl), then daily_counts is built with the same SQL as migration 0003's backfill.

    python bench/stats_daily.py [--posts 10000000] [--postgres postgresql+psycopg://USER@HOST/DB]

With --postgres the posts go into a fresh schema of that database (dropped afterwards).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from docsection import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.engine import open_database  # noqa: E402
from storage.stats import _from_posts, count_posts  # noqa: E402

BY = ["platform", "language", "day"]


def fill(path: Path, posts: int) -> None:
    """`posts` synthetic posts over a year: 4 platforms, 60 targets, 9 languages, 2% flagged."""
    open_database(f"sqlite:///{path}").dispose()  # schema at head
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "INSERT INTO crawl_runs (id, project, config_hash, vemeter_version, classifiers, started_at, "
        "status, posts_new, posts_seen, posts_flagged, requests) "
        "VALUES (1, 'bench', 'h', '0', '{}', '2026-01-01', 'ok', 0, 0, 0, 0)"
    )
    sql = (
        "INSERT INTO posts (platform, source, target, post_id, published_at, day, language, "
        "language_probability, flagged, is_repost, has_text, run_id, collected_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    step, stream = 500_000, synthetic_rows(posts)
    for offset in range(0, posts, step):
        db.executemany(sql, itertools.islice(stream, step))
        db.commit()
        print(f"  {min(offset + step, posts):,} posts", flush=True)
    db.execute(
        "INSERT INTO daily_counts (platform, source, target, language, topic, day, posts, flagged) "
        "SELECT platform, source, target, language, '*', day, COUNT(*), "
        "SUM(CASE WHEN flagged THEN 1 ELSE 0 END) FROM posts GROUP BY platform, source, target, language, day"
    )
    db.commit()
    db.close()


def synthetic_rows(posts: int):  # type: ignore[no-untyped-def]
    rng = random.Random(0)
    platforms = ["vk", "ok", "telegram", "web"]
    langs = ["ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en"]
    start = date(2025, 1, 1)
    for i in range(posts):
        day = start + timedelta(days=rng.randrange(365))
        yield (platforms[i % 4], f"src{i % 12}", f"t{i % 60}", f"p{i}", f"{day} 12:00:00", day.isoformat(),
               langs[rng.randrange(9)], 0.9, rng.random() < 0.02, False, True, 1, "2026-01-01 00:00:00")  # fmt: skip


def measure_postgres(url: str, posts: int) -> tuple[float, float, int]:
    """Fill a fresh schema with COPY, build daily_counts, time both answers; drops the schema."""
    import uuid

    from sqlalchemy import create_engine, text

    from storage.engine import upgrade

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        raw = engine.raw_connection()
        cur = raw.cursor()
        cur.execute(
            "INSERT INTO crawl_runs (id, project, config_hash, vemeter_version, classifiers, started_at, "
            "status, posts_new, posts_seen, posts_flagged, requests) "
            "VALUES (1, 'bench', 'h', '0', '{}', '2026-01-01', 'ok', 0, 0, 0, 0)"
        )
        copy_sql = (
            "COPY posts (platform, source, target, post_id, published_at, day, language, "
            "language_probability, flagged, is_repost, has_text, run_id, collected_at) FROM STDIN"
        )
        with cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
            for n, row in enumerate(synthetic_rows(posts), start=1):
                copy.write_row(row)
                if n % 1_000_000 == 0:
                    print(f"  {n:,} posts (PostgreSQL)", flush=True)
        cur.execute(
            "INSERT INTO daily_counts (platform, source, target, language, topic, day, posts, flagged) "
            "SELECT platform, source, target, language, '*', day, COUNT(*), "
            "SUM(CASE WHEN flagged THEN 1 ELSE 0 END) FROM posts "
            "GROUP BY platform, source, target, language, day"
        )
        cur.execute("ANALYZE")
        raw.commit()
        raw.close()
        daily = timed(lambda: count_posts(engine, BY), 5)
        scan = timed(lambda: _from_posts(engine, BY, None, None), 1)
        groups = len(count_posts(engine, BY))
        return daily, scan, groups
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def timed(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--postgres", help="also measure on this PostgreSQL database (a temporary schema)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.db"
        print(f"generating {args.posts:,} posts…", flush=True)
        fill(path, args.posts)
        engine = open_database(f"sqlite:///{path}")
        daily = timed(lambda: count_posts(engine, BY), 5)
        scan = timed(lambda: _from_posts(engine, BY, None, None), 1)
        groups = len(count_posts(engine, BY))
        assert count_posts(engine, []) == _from_posts(engine, [], None, None)
        engine.dispose()
    print(f"SQLite: daily_counts {daily:.3f} s · scan of posts {scan:.1f} s · {groups:,} groups")
    pg = measure_postgres(args.postgres, args.posts) if args.postgres else None
    if pg:
        print(f"PostgreSQL: daily_counts {pg[0]:.3f} s · scan of posts {pg[1]:.1f} s")
    if not args.no_write:
        write_doc(args.posts, daily, scan, groups, pg)


def write_doc(
    posts: int, daily: float, scan: float, groups: int, pg: tuple[float, float, int] | None
) -> None:
    pg_scan, pg_daily = (f"{pg[1]:.1f}", f"{pg[0]:.3f}") if pg else ("—", "—")
    body = f"""
## Stats over stored posts (`bench/stats_daily.py`)

`stats --by platform,language,day` over {posts:,} posts ({groups:,} groups), median of 5
queries (the scan: one), measured {time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores.

| answered from | SQLite, s | PostgreSQL, s |
|---|---:|---:|
| scanning `posts` (baseline) | {scan:.1f} | {pg_scan} |
| `daily_counts` (what `vemeter stats` does) | {daily:.3f} | {pg_daily} |
"""
    write_section("bench/stats_daily.py", body)


if __name__ == "__main__":
    main()
