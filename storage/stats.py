"""Count stored posts and flagged posts, grouped by any of platform, source, target, language, topic, day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Post, Tag

GROUP_KEYS = ("platform", "source", "target", "language", "topic", "day")
NO_TOPIC = "(none)"


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


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
        stmt = stmt.where(Post.published_at >= _naive(since))
    if until is not None:
        stmt = stmt.where(Post.published_at < _naive(until))
    if by:
        stmt = stmt.group_by(*[columns[k] for k in by]).order_by(*[columns[k] for k in by])
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
