"""Forgetting an author: their posts, tags and review items go, daily counts drop by exactly
what those posts added, and the action is recorded by what and how much, never whose.

Review samples: an item of a removed post goes with its labels, leases and skips. An item not
yet labelled simply leaves the sample (as if never drawn). An item already labelled takes its
labels with it: the estimates then read its stratum as one draw short (the draw's recorded
stratum size and inclusion probability stay as they were, since the post was in the population
when the sample was drawn). The count of labelled items removed per sample is returned and
recorded, so a lead can judge whether a sample should be drawn again.

The review audit trail is append-only and keeps its rows; they hold item ids and labels, not
posts, texts or authors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from storage import daily_counts
from storage.engine import utc_naive
from storage.models import (
    Post,
    PrivacyAction,
    ReviewItem,
    ReviewLabel,
    ReviewLease,
    ReviewSkip,
    Tag,
)

FORGET_AUTHOR = "forget-author"
BATCH = 500


@dataclass
class Forgotten:
    """What forgetting one author removed (or, with `dry_run`, would remove)."""

    posts: int = 0
    flagged: int = 0
    tags: int = 0
    review_items: int = 0
    labelled_items: int = 0
    labels: int = 0
    count_rows: int = 0  # daily_counts rows changed
    samples: dict[int, dict[str, int]] = field(default_factory=dict)
    days: tuple[date, date] | None = None

    def as_detail(self) -> dict[str, Any]:
        return {
            "posts": self.posts, "flagged": self.flagged, "tags": self.tags,
            "review_items": self.review_items, "labelled_items": self.labelled_items,
            "labels": self.labels, "count_rows": self.count_rows,
            "samples": {str(k): v for k, v in sorted(self.samples.items())},
            "days": [d.isoformat() for d in self.days] if self.days else None,
        }  # fmt: skip


def forget_author(
    engine: Engine, author: str, *, now: datetime, dry_run: bool = False
) -> Forgotten:
    """Remove every post of `author` (a pseudonym) in one transaction; see the module docstring."""
    done = Forgotten()
    with engine.begin() as conn:
        post_ids = list(
            conn.execute(select(Post.id).where(Post.author == author).order_by(Post.id)).scalars()
        )
        posts: Counter[daily_counts.Key] = Counter()
        flagged: Counter[daily_counts.Key] = Counter()
        for i in range(0, len(post_ids), BATCH):
            _forget_batch(conn, post_ids[i : i + BATCH], done, posts, flagged, dry_run)
        done.count_rows = len(posts)
        if dry_run:
            conn.rollback()
            return done
        daily_counts.add(
            conn, {k: -n for k, n in posts.items()}, {k: -n for k, n in flagged.items()}
        )
        conn.execute(
            PrivacyAction.__table__.insert(),  # type: ignore[attr-defined]
            {
                "action": FORGET_AUTHOR, "at": utc_naive(now), "posts": done.posts,
                "detail": done.as_detail(),
            },
        )  # fmt: skip
    return done


def _forget_batch(
    conn: Connection, ids: list[int], done: Forgotten, posts: Counter[daily_counts.Key],
    flagged: Counter[daily_counts.Key], dry_run: bool,
) -> None:  # fmt: skip
    rows = conn.execute(
        select(
            Post.id, Post.platform, Post.source, Post.target, Post.language, Post.day,
            Post.flagged,
        ).where(Post.id.in_(ids))
    ).all()  # fmt: skip
    topics: dict[int, list[str]] = {}
    for post_pk, label in conn.execute(
        select(Tag.post_pk, Tag.label).where(Tag.post_pk.in_(ids), Tag.kind == "topic")
    ):
        topics.setdefault(post_pk, []).append(label)
    for r in rows:
        day = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day))
        for key in daily_counts.keys(
            r.platform, r.source, r.target, r.language, topics.get(r.id, []), day
        ):
            posts[key] += 1
            flagged[key] += int(bool(r.flagged))
        done.posts += 1
        done.flagged += int(bool(r.flagged))
        first, last = done.days or (day, day)
        done.days = (min(first, day), max(last, day))
    done.tags += int(
        conn.execute(select(func.count()).select_from(Tag).where(Tag.post_pk.in_(ids))).scalar_one()
    )
    items = conn.execute(
        select(ReviewItem.id, ReviewItem.sample_id).where(ReviewItem.post_pk.in_(ids))
    ).all()
    item_ids = [i.id for i in items]
    labelled: Counter[int] = Counter()
    if item_ids:
        for item_id, n in conn.execute(
            select(ReviewLabel.item_id, func.count())
            .where(ReviewLabel.item_id.in_(item_ids))
            .group_by(ReviewLabel.item_id)
        ):
            labelled[item_id] = int(n)
    for item in items:
        entry = done.samples.setdefault(int(item.sample_id), {"items": 0, "labelled": 0})
        entry["items"] += 1
        entry["labelled"] += int(item.id in labelled)
    done.review_items += len(items)
    done.labelled_items += len(labelled)
    done.labels += sum(labelled.values())
    if dry_run:
        return
    if item_ids:
        for table in (ReviewLabel, ReviewLease, ReviewSkip):
            conn.execute(delete(table).where(table.item_id.in_(item_ids)))
        conn.execute(delete(ReviewItem).where(ReviewItem.id.in_(item_ids)))
    conn.execute(delete(Tag).where(Tag.post_pk.in_(ids)))
    conn.execute(delete(Post).where(Post.id.in_(ids)))


def privacy_actions(engine: Engine) -> list[PrivacyAction]:
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        return list(session.execute(select(PrivacyAction).order_by(PrivacyAction.id)).scalars())
