"""What the item page shows: a sampled post's facts and its text cut into plain and matched pieces.

The text is never turned into HTML here: it is cut into pieces at the lexicon's match spans,
and the template escapes every piece on its own (a match inside markup-looking text stays
text on both sides of the cut).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import Engine, select

from classifiers.base import TOPICS
from storage.models import Post, ReviewItem, Tag

__all__ = ["TOPIC_NAMES", "ItemView", "Segment", "highlight", "load_item"]

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


def load_item(engine: Engine, item_id: int) -> ItemView | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                ReviewItem.id,
                ReviewItem.views.label("item_views"),
                Post.id.label("post_pk"),
                Post.platform,
                Post.source,
                Post.target,
                Post.published_at,
                Post.language,
                Post.script,
                Post.views,
                Post.url,
                Post.text,
            )
            .join(Post, Post.id == ReviewItem.post_pk)
            .where(ReviewItem.id == item_id)
        ).first()
        if row is None:
            return None
        tags = conn.execute(
            select(Tag.label, Tag.evidence).where(Tag.post_pk == row.post_pk, Tag.kind == "topic")
        ).all()
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
