"""Count stored posts and flagged posts, grouped by any of platform, source, target, language, topic, day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from storage.engine import utc_naive
from storage.models import DailyCount, Post, Tag
from storage.topics import ANY_TOPIC, NO_TOPIC

GROUP_KEYS = ("platform", "source", "target", "language", "topic", "day")
__all__ = ["GROUP_KEYS", "NO_TOPIC", "count_posts"]


def count_posts(
    engine: Engine,
    by: list[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per group with the grouping keys plus `posts` (unique posts) and `flagged`.

    With `topic` among the keys a post counts once under each topic it carries, and posts
    without any topic count under "(none)"; without it every post counts exactly once.
    """
    unknown = [k for k in by if k not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)} (use: {', '.join(GROUP_KEYS)})")
    if _midnight(since) and _midnight(until):
        return _from_daily_counts(engine, by, since, until)
    return _from_posts(engine, by, since, until)


def _midnight(value: datetime | None) -> bool:
    return value is None or utc_naive(value).time() == datetime.min.time()


def _from_daily_counts(
    engine: Engine, by: list[str], since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Sums of daily_counts: exact for whole days, and never a scan of the posts."""
    columns: dict[str, ColumnElement[Any]] = {k: getattr(DailyCount, k).expression for k in by}
    stmt = select(
        *[columns[k].label(k) for k in by],
        func.coalesce(func.sum(DailyCount.posts), 0).label("posts"),
        func.coalesce(func.sum(DailyCount.flagged), 0).label("flagged"),
    )
    # Topic rows count a post under each of its topics; ANY_TOPIC rows count every post once.
    stmt = stmt.where(
        DailyCount.topic != ANY_TOPIC if "topic" in by else DailyCount.topic == ANY_TOPIC
    )
    if since is not None:
        stmt = stmt.where(DailyCount.day >= utc_naive(since).date())
    if until is not None:
        stmt = stmt.where(DailyCount.day < utc_naive(until).date())
    if by:
        stmt = stmt.group_by(*columns.values()).order_by(*columns.values())
    return _rows(engine, stmt, by)


def _from_posts(
    engine: Engine, by: list[str], since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Counts from the posts themselves, for windows that cut through a day."""
    columns: dict[str, ColumnElement[Any]] = {
        "platform": Post.platform.expression,
        "source": Post.source.expression,
        "target": Post.target.expression,
        "language": Post.language.expression,
        "day": Post.day.expression,
        "topic": func.coalesce(Tag.label, literal(NO_TOPIC)),
    }
    selected = [columns[k].label(k) for k in by]
    stmt = select(
        *selected,
        func.count(func.distinct(Post.id)).label("posts"),
        func.count(func.distinct(Post.id)).filter(Post.flagged.is_(True)).label("flagged"),
    ).select_from(Post)
    if "topic" in by:
        stmt = stmt.outerjoin(Tag, and_(Tag.post_pk == Post.id, Tag.kind == "topic"))
    if since is not None:
        stmt = stmt.where(Post.published_at >= utc_naive(since))
    if until is not None:
        stmt = stmt.where(Post.published_at < utc_naive(until))
    if by:
        stmt = stmt.group_by(*[columns[k] for k in by]).order_by(*[columns[k] for k in by])
    return _rows(engine, stmt, by)


def _rows(engine: Engine, stmt: Any, by: list[str]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    out = []
    for row in rows:
        item = {
            k: (row[k].isoformat() if k == "day" and row[k] is not None else row[k]) for k in by
        }
        item["posts"] = int(row["posts"])
        item["flagged"] = int(row["flagged"])
        out.append(item)
    if not by and out and out[0]["posts"] == 0:
        return [{"posts": 0, "flagged": 0}]
    return out
