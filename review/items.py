"""What the item page shows: a sampled post's facts and its text cut into plain and matched pieces;
and a reviewer changing their own label of an item they went back to.

The text is never turned into HTML here: it is cut into pieces at the lexicon's match spans,
and the template escapes every piece on its own (a match inside markup-looking text stays
text on both sides of the cut).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)

from classifiers.base import TOPICS
from crawler.errors import VemeterError
from review.auth import User
from review.connections import autocommit
from review.queue import LABELS, write_transaction
from storage import audit
from storage.engine import utc_naive
from storage.models import Post, ReviewItem, ReviewLabel, ReviewLease, Tag
from storage.review_labels import _settle
from storage.topics import ANY_TOPIC

__all__ = [
    "TOPIC_NAMES",
    "Decided",
    "ItemView",
    "NotLabelled",
    "Segment",
    "highlight",
    "live_lease",
    "load_item",
    "own_labels",
    "relabel",
]

# How topics read on the page.
TOPIC_NAMES = {
    "designated_org": "Designated organisation",
    "glorification": "Glorification",
    "recruitment": "Recruitment",
    "incitement": "Incitement",
    "instruction": "Instruction",
    "financing": "Financing",
    "perpetrator_content": "Perpetrator content",
}
assert tuple(TOPIC_NAMES) == TOPICS


@dataclass(frozen=True)
class Segment:
    text: str
    topic: str | None  # the topic of a lexicon match, None for text between matches


@dataclass(frozen=True)
class Match:
    term: str
    topic: str


@dataclass(frozen=True)
class ItemView:
    item_id: int
    platform: str
    source: str
    target: str
    published: str
    language: str
    script: str | None
    views: int | None
    url: str | None
    has_text: bool
    segments: list[Segment]
    topics: list[str]  # topics the classifiers tagged: named in the content warning
    matches: list[Match]


def highlight(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """`text` cut at the spans (start, end, topic); spans out of range or overlapping an
    earlier one are left out."""
    out: list[Segment] = []
    pos = 0
    for start, end, topic in sorted(spans):
        if not (0 <= start < end <= len(text)) or start < pos:
            continue
        if start > pos:
            out.append(Segment(text[pos:start], None))
        out.append(Segment(text[start:end], topic))
        pos = end
    if pos < len(text) or not out:
        out.append(Segment(text[pos:], None))
    return out


def _spans(evidence: object, topic: str) -> Iterable[tuple[int, int, str]]:
    if not isinstance(evidence, list):
        return
    for found in evidence:
        if not isinstance(found, dict):
            continue
        start, end = found.get("start"), found.get("end")
        if isinstance(start, int) and isinstance(end, int):
            yield start, end, topic


@functools.cache
def _item_query() -> Select[*tuple[Any, ...]]:
    """The post of item :i_item with its topic tags, in one query: one row per tag (a post has a
    few), or one row with no tag. Built once: every item page runs it."""
    return (
        select(
            ReviewItem.id,
            ReviewItem.views.label("item_views"),
            Post.platform,
            Post.source,
            Post.target,
            Post.published_at,
            Post.language,
            Post.script,
            Post.views,
            Post.url,
            Post.text,
            Tag.id.label("tag_id"),
            Tag.label.label("tag_label"),
            Tag.evidence.label("tag_evidence"),
        )
        .join(Post, Post.id == ReviewItem.post_pk)
        .outerjoin(Tag, and_(Tag.post_pk == Post.id, Tag.kind == "topic"))
        .where(ReviewItem.id == bindparam("i_item", type_=BigInteger()))
    )


def load_item(engine: Engine, item_id: int) -> ItemView | None:
    with autocommit(engine) as conn:
        rows = conn.execute(_item_query(), {"i_item": item_id}).all()
    if not rows:
        return None
    row = rows[0]
    tags = [(r.tag_label, r.tag_evidence) for r in rows if r.tag_id is not None]
    text = row.text or ""
    topics = sorted({str(label) for label, _ in tags if label in TOPIC_NAMES})
    spans = [span for label, ev in tags for span in _spans(ev, str(label))]
    segments = highlight(text, spans) if text else []
    published = row.published_at
    if published.tzinfo is not None:
        published = published.astimezone(UTC).replace(tzinfo=None)
    return ItemView(
        item_id=int(row.id),
        platform=str(row.platform),
        source=str(row.source),
        target=str(row.target),
        published=published.strftime("%Y-%m-%d %H:%M UTC"),
        language=str(row.language),
        script=row.script,
        views=row.views if row.views is not None else row.item_views,
        url=row.url,
        has_text=bool(text),
        segments=segments,
        topics=topics,
        matches=[Match(s.text, s.topic) for s in segments if s.topic],
    )


class NotLabelled(VemeterError):
    """The reviewer has no label of their own on this item to change."""


class Decided(VemeterError):
    """A lead has adjudicated the item: reviewers' labels of it no longer change."""


def own_labels(engine: Engine, user: User, item_id: int) -> tuple[dict[str, str], str | None]:
    """The user's own labels of the item (topic -> label) and their note; ({}, None) if none."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ReviewLabel.topic, ReviewLabel.label, ReviewLabel.note).where(
                ReviewLabel.item_id == item_id,
                ReviewLabel.reviewer == user.name,
                ReviewLabel.adjudication.is_(False),
            )
        ).all()
    labels = {str(t): str(label) for t, label, _ in rows}
    note = next((n for t, _, n in rows if t == ANY_TOPIC), None)
    return labels, note


def relabel(
    engine: Engine,
    user: User,
    item_id: int,
    labels: Mapping[str, str],
    note: str | None,
    now: datetime,
) -> bool:
    """Replace the user's own labels of an item they labelled (topic "*" required), audit the
    old and the new value and settle the item, in one transaction. False when nothing changed.

    NotLabelled when the user has no label there; Decided when a lead has adjudicated the item.
    The item's reviewers stay who they were: K per item is untouched.
    """
    if labels.get(ANY_TOPIC) not in LABELS or any(v not in LABELS for v in labels.values()):
        raise ValueError("labels must be yes, no or unsure, the overall one (topic *) included")
    now = utc_naive(now)
    mine = (
        ReviewLabel.item_id == item_id,
        ReviewLabel.reviewer == user.name,
        ReviewLabel.adjudication.is_(False),
    )
    with write_transaction(engine) as conn:
        lock = select(ReviewItem.id).where(ReviewItem.id == item_id)
        if engine.dialect.name == "postgresql":
            lock = lock.with_for_update()
        conn.execute(lock)
        rows = conn.execute(
            select(ReviewLabel.topic, ReviewLabel.label, ReviewLabel.note).where(*mine)
        ).all()
        if not rows:
            raise NotLabelled(f"{user.name} has not labelled item {item_id}")
        decided = exists().where(ReviewLabel.item_id == item_id, ReviewLabel.adjudication.is_(True))
        if conn.execute(select(decided)).scalar():
            raise Decided(f"a lead has adjudicated item {item_id}")
        old = {str(t): str(label) for t, label, _ in rows}
        old_note = next((n for t, _, n in rows if t == ANY_TOPIC), None)
        if old == dict(labels) and old_note == note:
            return False
        conn.execute(delete(ReviewLabel).where(*mine, ReviewLabel.topic.not_in(list(labels))))
        for topic, label in labels.items():
            value = {"label": label, "note": note if topic == ANY_TOPIC else None}
            if topic in old:
                # created_at stays: it orders an item's reviewers (Reviewer A, B) for leads.
                conn.execute(update(ReviewLabel).where(*mine, ReviewLabel.topic == topic)
                             .values(**value))  # fmt: skip
            else:
                conn.execute(
                    insert(ReviewLabel).values(
                        item_id=item_id, reviewer=user.name, topic=topic, adjudication=False,
                        created_at=now, **value,
                    )
                )  # fmt: skip
        audit.append(
            conn, "label", user=user.name, item_id=item_id,
            detail={"old": old, "new": dict(labels), "note": note is not None, "changed": True},
            at=now,
        )  # fmt: skip
        _settle(conn, [item_id])
    return True


def live_lease(engine: Engine, user: User, now: datetime) -> int | None:
    """The item the user holds a live, not yet done lease on, if any."""
    with engine.connect() as conn:
        found = conn.execute(
            select(ReviewLease.item_id)
            .where(
                ReviewLease.user_id == user.id,
                ReviewLease.done_at.is_(None),
                ReviewLease.expires_at > utc_naive(now),
            )
            .limit(1)
        ).scalar_one_or_none()
    return int(found) if found is not None else None
