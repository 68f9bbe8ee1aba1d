"""Benchmark: `stats --by platform,language,day` over millions of stored posts, SQLite.

The same query answered from daily_counts (what `vemeter stats` does) and by scanning the
posts table (the baseline), in one run. Posts are generated straight into a fresh SQLite file
(no crawl), then daily_counts is built with the same SQL as migration 0003's backfill.

    python bench/stats_daily.py [--posts 10000000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

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
    rng = random.Random(0)
    platforms, langs = (
        ["vk", "ok", "telegram", "web"],
        ["ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en"],
    )
    start = date(2025, 1, 1)

    def rows(offset: int, n: int):  # type: ignore[no-untyped-def]
        for i in range(offset, offset + n):
            day = start + timedelta(days=rng.randrange(365))
            yield (platforms[i % 4], f"src{i % 12}", f"t{i % 60}", f"p{i}", f"{day} 12:00:00", day.isoformat(),
                   langs[rng.randrange(9)], 0.9, rng.random() < 0.02, False, True, 1, "2026-01-01 00:00:00")  # fmt: skip

    sql = (
        "INSERT INTO posts (platform, source, target, post_id, published_at, day, language, "
        "language_probability, flagged, is_repost, has_text, run_id, collected_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    step = 500_000
    for offset in range(0, posts, step):
        db.executemany(sql, rows(offset, min(step, posts - offset)))
        db.commit()
        print(f"  {min(offset + step, posts):,} posts", flush=True)
    db.execute(
        "INSERT INTO daily_counts (platform, source, target, language, topic, day, posts, flagged) "
        "SELECT platform, source, target, language, '*', day, COUNT(*), "
        "SUM(CASE WHEN flagged THEN 1 ELSE 0 END) FROM posts GROUP BY platform, source, target, language, day"
    )
    db.commit()
    db.close()


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
    print(f"daily_counts {daily:.3f} s · scan of posts {scan:.1f} s · {groups:,} groups")
    if not args.no_write:
        write_doc(args.posts, daily, scan, groups)


def write_doc(posts: int, daily: float, scan: float, groups: int) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    start, end = "<!-- bench/stats_daily.py -->", "<!-- /bench/stats_daily.py -->"
    section = f"""{start}
## Stats over stored posts (`bench/stats_daily.py`)

`stats --by platform,language,day` over {posts:,} posts in SQLite ({groups:,} groups), measured
{time.strftime("%Y-%m-%d")}, {os.cpu_count()} cores. PostgreSQL not measured yet.

| answered from | seconds |
|---|---:|
| scanning `posts` (baseline) | {scan:.1f} |
| `daily_counts` (what `vemeter stats` does) | {daily:.3f} |
{end}"""
    if start in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
    print(f"wrote {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
