"""Text retention: post text older than the project's limit is erased; counts and tags stay.

Posts drawn for review keep their text until their label is settled (see storage.review).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, update

from storage.engine import utc_naive, utc_now
from storage.models import Post, ReviewItem


def erase_old_text(engine: Engine, days: int | None, *, now: datetime | None = None) -> int:
    """Erase the text of posts collected more than `days` ago; returns how many were erased."""
    if days is None:
        return 0
    cutoff = (utc_naive(now) if now else utc_now()) - timedelta(days=days)
    with engine.begin() as conn:
        result = conn.execute(
            update(Post)
            .where(
                Post.text.is_not(None),
                Post.collected_at < cutoff,
                ~exists().where(ReviewItem.post_pk == Post.id, ReviewItem.settled.is_(False)),
            )
            .values(text=None)
        )
    return int(result.rowcount or 0)


def erase_unkept_text(engine: Engine, keep_text: str) -> int:
    """Erase text the privacy setting no longer allows (after a re-tag or a stricter config).

    keep_text "flagged" erases the text of posts that are not flagged (any more), "none" all
    text; posts drawn for review keep theirs until their label is settled. Returns how many.
    """
    if keep_text == "all":
        return 0
    where = [
        Post.text.is_not(None),
        ~exists().where(ReviewItem.post_pk == Post.id, ReviewItem.settled.is_(False)),
    ]
    if keep_text == "flagged":
        where.append(Post.flagged.is_(False))
    with engine.begin() as conn:
        result = conn.execute(update(Post).where(*where).values(text=None))
    return int(result.rowcount or 0)


class DailyRetention:
    """erase_old_text() at most once a day of a long-running process's clock (`vemeter run`,
    as the single service or a pool worker): every crawl erases at its end too; this covers
    sources that have stopped running."""

    def __init__(self, engine: Engine, days: int | None) -> None:
        self.engine, self.days = engine, days
        self.last: datetime | None = None

    def run(self, now: datetime) -> int:
        """Posts whose text was erased now (0 when the last run was less than a day ago)."""
        if self.last is not None and now - self.last < timedelta(days=1):
            return 0
        self.last = now
        return erase_old_text(self.engine, self.days, now=now)
