"""The daily_counts table kept beside the posts: which rows a post counts under, and the upsert.

A post counts once under ANY_TOPIC and once under each of its topics (NO_TOPIC when it has
none), keyed by platform, source, target, language and UTC day. The writer adds new posts and
re-classification moves posts between rows, both through `add` in their own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete

from storage.engine import insert_for
from storage.models import DailyCount
from storage.topics import ANY_TOPIC, NO_TOPIC

__all__ = ["COLUMNS", "Key", "add", "day_of", "keys"]

COLUMNS = ("platform", "source", "target", "language", "topic", "day")
Key = tuple[str, str, str, str, str, date]


def day_of(published_at: datetime) -> date:
    """The UTC day a post counts under (naive datetimes are UTC)."""
    return published_at.astimezone(UTC).date() if published_at.tzinfo else published_at.date()


def keys(
    platform: str, source: str, target: str, language: str, topics: Iterable[str], day: date
) -> list[Key]:
    """Every daily_counts row one post counts under."""
    where = (platform, source, target, language)
    return [(*where, topic, day) for topic in (ANY_TOPIC, *(sorted(set(topics)) or [NO_TOPIC]))]


_SQLITE_UPSERT = (
    f"INSERT INTO daily_counts ({', '.join(COLUMNS)}, posts, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    f" ON CONFLICT ({', '.join(COLUMNS)}) DO UPDATE SET posts = daily_counts.posts + excluded.posts,"
    " flagged = daily_counts.flagged + excluded.flagged"
)


def add(conn: Connection, posts: Mapping[Key, int], flagged: Mapping[Key, int]) -> None:
    """Add these deltas (negative to move posts away); rows left with no post are deleted."""
    # In key order: two writers adding to the same rows lock them in the same order (no
    # deadlock on PostgreSQL).
    changed = sorted(k for k, n in posts.items() if n or flagged.get(k, 0))
    if not changed:
        return
    if conn.dialect.name == "sqlite" and all(type(k[5]) is date for k in changed):
        # The driver's executemany with tuples; days as SQLAlchemy's SQLite Date writes them.
        conn.exec_driver_sql(
            _SQLITE_UPSERT,
            [(*k[:5], k[5].isoformat(), posts[k], flagged.get(k, 0)) for k in changed],
        )
    else:
        _add_core(conn, changed, posts, flagged)
    emptied = [
        {f"k_{name}": value for name, value in zip(COLUMNS, k, strict=True)}
        for k in changed
        if posts[k] < 0
    ]
    if emptied:
        conn.execute(
            delete(DailyCount).where(
                DailyCount.posts <= 0,
                *[getattr(DailyCount, name) == bindparam(f"k_{name}") for name in COLUMNS],
            ),
            emptied,
        )


def _add_core(
    conn: Connection, changed: list[Key], posts: Mapping[Key, int], flagged: Mapping[Key, int]
) -> None:
    """`add`'s upsert through SQLAlchemy's types (PostgreSQL)."""
    rows: list[dict[str, Any]] = [
        {**dict(zip(COLUMNS, k, strict=True)), "posts": posts[k], "flagged": flagged.get(k, 0)}
        for k in changed
    ]
    stmt = insert_for(conn.engine)(DailyCount)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(COLUMNS),
            set_={
                "posts": DailyCount.posts + stmt.excluded.posts,
                "flagged": DailyCount.flagged + stmt.excluded.flagged,
            },
        ),
        rows,
    )
