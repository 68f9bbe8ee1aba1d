"""Store classified posts in batches, once each: a re-run or a repeated page never double-counts."""

from __future__ import annotations

import contextlib
import fcntl
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert

from storage.models import NO_TOPIC, DailyCount, Post, Tag


@dataclass(slots=True)
class TagRecord:
    kind: str
    label: str
    score: float
    classifier: str
    version: str
    evidence: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class PostRecord:
    """A post ready to store: classified, pseudonymised, text already trimmed per privacy."""

    platform: str
    source: str
    target: str
    post_id: str
    published_at: datetime
    language: str
    script: str | None
    language_probability: float
    flagged: bool
    has_text: bool
    text: str | None = None
    language_classifier: str | None = None
    url: str | None = None
    author: str | None = None
    is_repost: bool = False
    views: int | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    tags: list[TagRecord] = field(default_factory=list)
    edited: bool | None = None
    forwarded_from: str | None = None
    is_promo: bool | None = None


@dataclass
class BatchResult:
    new: int = 0
    seen: int = 0
    flagged: int = 0
    per_target_new: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_target_seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: BatchResult) -> None:
        self.new += other.new
        self.seen += other.seen
        self.flagged += other.flagged
        self.per_target_new.update(other.per_target_new)
        self.per_target_seen.update(other.per_target_seen)


def _utc_naive(value: datetime) -> datetime:
    """Stored as naive UTC: SQLite has no time zones, and both databases then agree."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@contextlib.contextmanager
def _write_lock(engine: Engine) -> Iterator[None]:
    """One SQLite writer at a time across processes, woken as soon as the other is done.

    SQLite's own busy handler retries after sleeps of up to 100 ms; two writer processes
    importing into one file spent much of their time asleep that way.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.write-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _add_daily_counts(conn: Connection, fresh: list[PostRecord]) -> None:
    """Add newly stored posts to daily_counts in the same transaction (see DailyCount)."""
    counts: Counter[tuple[str, str, str, str, str, date]] = Counter()
    flagged: Counter[tuple[str, str, str, str, str, date]] = Counter()
    for rec in fresh:
        day = rec.published_at.astimezone(UTC).date()
        topics = sorted({t.label for t in rec.tags if t.kind == "topic"}) or [NO_TOPIC]
        for topic in ("*", *topics):
            key = (rec.platform, rec.source, rec.target, rec.language, topic, day)
            counts[key] += 1
            flagged[key] += rec.flagged
    rows = [
        {"platform": k[0], "source": k[1], "target": k[2], "language": k[3], "topic": k[4],
         "day": k[5], "posts": n, "flagged": flagged[k]}
        for k, n in counts.items()
    ]  # fmt: skip
    stmt = _insert_for(conn.engine)(DailyCount)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["platform", "source", "target", "language", "topic", "day"],
            set_={
                "posts": DailyCount.posts + stmt.excluded.posts,
                "flagged": DailyCount.flagged + stmt.excluded.flagged,
            },
        ),
        rows,
    )


def _insert_for(engine: Engine) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING (SQLite 3.35+, PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


class PostWriter:
    """Insert posts and their tags; posts already stored (same platform and post id) are counted as seen."""

    def __init__(self, engine: Engine, run_id: int) -> None:
        self.engine = engine
        self.run_id = run_id

    def write(self, records: list[PostRecord]) -> BatchResult:
        result = BatchResult()
        unique: dict[tuple[str, str], PostRecord] = {}
        for rec in records:
            if (rec.platform, rec.post_id) in unique:
                result.seen += 1
                result.per_target_seen[(rec.source, rec.target)] += 1
            else:
                unique[(rec.platform, rec.post_id)] = rec
        if not unique:
            return result
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [
            {
                "platform": r.platform,
                "source": r.source,
                "target": r.target,
                "post_id": r.post_id,
                "url": r.url,
                "author": r.author,
                "published_at": _utc_naive(r.published_at),
                "day": r.published_at.astimezone(UTC).date(),
                "language": r.language,
                "script": r.script,
                "language_probability": r.language_probability,
                "language_classifier": r.language_classifier,
                "flagged": r.flagged,
                "is_repost": r.is_repost,
                "has_text": r.has_text,
                "text": r.text,
                "views": r.views,
                "likes": r.likes,
                "reposts": r.reposts,
                "comments": r.comments,
                "edited": r.edited,
                "forwarded_from": r.forwarded_from,
                "is_promo": r.is_promo,
                "run_id": self.run_id,
                "collected_at": now,
            }
            for r in unique.values()
        ]
        # One statement decides what is new: rows already stored are skipped by the unique
        # constraint and return nothing (a separate existence query halved the writer's speed).
        stmt = _insert_for(self.engine)(Post).on_conflict_do_nothing(
            index_elements=["platform", "post_id"]
        )
        with _write_lock(self.engine), self.engine.begin() as conn:
            inserted = {
                (platform, post_id): pk
                for pk, platform, post_id in conn.execute(
                    stmt.returning(Post.id, Post.platform, Post.post_id), rows
                )
            }
            tag_rows = [
                {
                    "post_pk": inserted[key],
                    "kind": t.kind,
                    "label": t.label,
                    "score": t.score,
                    "classifier": t.classifier,
                    "version": t.version,
                    "evidence": t.evidence,
                }
                for key, rec in unique.items()
                if key in inserted
                for t in rec.tags
            ]
            if tag_rows:
                conn.execute(insert(Tag), tag_rows)
            fresh = [rec for key, rec in unique.items() if key in inserted]
            if fresh:
                _add_daily_counts(conn, fresh)
        for key, rec in unique.items():
            if key not in inserted:
                result.seen += 1
                result.per_target_seen[(rec.source, rec.target)] += 1
        for rec in fresh:
            result.new += 1
            result.flagged += rec.flagged
            result.per_target_new[(rec.source, rec.target)] += 1
        return result
