"""What leads do: adjudicate disputed items, read agreement, export the adjudicated labels.

A double-labelled item is disputed on a topic when its two reviewers gave it different labels
there ("unsure" differs from "yes" too, as `storage.review.resolve` counts it) and no lead has
decided that topic yet. A lead's decision is stored in review_labels with adjudication = true
under the lead's name; `resolve` lets it win over the reviewers' labels. Every decision is
audited with the value it replaced. A lead does not adjudicate an item they labelled as one of
its reviewers (`OwnItem`), unless the app allows it (a team with a single lead).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, exists, select

from analysis.agreement_extra import PairAgreement, pair_agreement
from classifiers.base import TOPICS
from crawler.errors import VemeterError
from review.auth import User
from review.items import TOPIC_NAMES
from review.queue import LABELS, write_transaction
from storage import audit
from storage.engine import insert_for, utc_naive
from storage.models import ReviewItem, ReviewLabel
from storage.review_labels import _settle
from storage.sheets import SheetWriter
from storage.topics import ANY_TOPIC

__all__ = [
    "EXPORT_COLUMNS",
    "AdjudicationView",
    "AgreementRow",
    "Dispute",
    "OwnItem",
    "TopicRow",
    "adjudicate",
    "adjudication_view",
    "agreement_by_reviewer",
    "agreement_by_topic",
    "disputes",
    "export_adjudications",
    "labelled_by",
    "topic_name",
]

ALL_TOPICS = (ANY_TOPIC, *TOPICS)
# The sheet `vemeter review import --adjudicate` reads back.
EXPORT_COLUMNS = ("item_id", "reviewer", "label", "topic", "note")


class OwnItem(VemeterError):
    """The lead labelled this item as one of its reviewers: another lead adjudicates it."""


def topic_name(topic: str) -> str:
    return "Overall" if topic == ANY_TOPIC else TOPIC_NAMES[topic]


@dataclass
class _Item:
    position: int
    stratum: str
    # topic -> reviewer -> label, reviewers in the order they labelled
    given: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    decided: dict[str, str] = field(default_factory=dict)  # topic -> adjudicated label
    reviewers: list[str] = field(default_factory=list)
    notes: dict[str, str | None] = field(default_factory=dict)

    def disputed(self) -> list[str]:
        return [
            t
            for t in ALL_TOPICS
            if len(self.given.get(t, {})) >= 2
            and len(set(self.given[t].values())) > 1
            and t not in self.decided
        ]


def _double_items(engine: Engine, sample_id: int, item_id: int | None = None) -> dict[int, _Item]:
    """Double-labelled items of the sample with every label they have, in review order."""
    stmt = (
        select(
            ReviewItem.id, ReviewItem.position, ReviewItem.stratum, ReviewLabel.reviewer,
            ReviewLabel.topic, ReviewLabel.label, ReviewLabel.adjudication, ReviewLabel.note,
        )
        .join(ReviewLabel, ReviewLabel.item_id == ReviewItem.id)
        .where(ReviewItem.sample_id == sample_id, ReviewItem.double_label.is_(True))
        .order_by(ReviewItem.position, ReviewLabel.created_at, ReviewLabel.id)
    )  # fmt: skip
    if item_id is not None:
        stmt = stmt.where(ReviewItem.id == item_id)
    items: dict[int, _Item] = {}
    with engine.connect() as conn:
        for iid, position, stratum, reviewer, topic, label, adjudication, note in conn.execute(
            stmt
        ):
            item = items.setdefault(int(iid), _Item(int(position), str(stratum)))
            if adjudication:
                item.decided[str(topic)] = str(label)
                continue
            if reviewer not in item.reviewers:
                item.reviewers.append(str(reviewer))
            item.given[str(topic)][str(reviewer)] = str(label)
            if topic == ANY_TOPIC:
                item.notes[str(reviewer)] = note
    return items


@dataclass(frozen=True)
class Dispute:
    item_id: int
    position: int
    stratum: str
    topics: list[str]  # disputed topics, the overall one ("*") first


def disputes(engine: Engine, sample_id: int) -> list[Dispute]:
    """Items of the sample whose two reviewers disagree on a topic nobody has decided yet."""
    out = []
    for item_id, item in _double_items(engine, sample_id).items():
        topics = item.disputed()
        if topics:
            out.append(Dispute(item_id, item.position, item.stratum, topics))
    return out


@dataclass(frozen=True)
class TopicRow:
    topic: str
    name: str
    given: list[str | None]  # one per reviewer column
    disputed: bool
    decision: str | None  # a lead's decision already stored


@dataclass(frozen=True)
class AdjudicationView:
    item_id: int
    reviewers: list[str]  # column heads: names, or "Reviewer A" when names are hidden
    rows: list[TopicRow]  # topics with a reviewer label or a decision
    notes: list[str | None]  # each reviewer's note
    names_shown: bool

    @property
    def open(self) -> list[TopicRow]:
        return [r for r in self.rows if r.disputed]


def adjudication_view(
    engine: Engine, sample_id: int, item_id: int, *, show_names: bool
) -> AdjudicationView | None:
    """The item's labels side by side; None when it is not a double-labelled item with labels."""
    item = _double_items(engine, sample_id, item_id).get(item_id)
    if item is None or len(item.reviewers) < 2:
        return None
    reviewers = item.reviewers
    heads = (
        list(reviewers)
        if show_names
        else [f"Reviewer {chr(ord('A') + i)}" for i in range(len(reviewers))]
    )
    disputed = set(item.disputed())
    rows = [
        TopicRow(
            topic=t,
            name=topic_name(t),
            given=[item.given.get(t, {}).get(r) for r in reviewers],
            disputed=t in disputed,
            decision=item.decided.get(t),
        )
        for t in ALL_TOPICS
        if item.given.get(t) or t in item.decided
    ]
    return AdjudicationView(
        item_id, heads, rows, [item.notes.get(r) for r in reviewers], names_shown=show_names
    )


def _own(item_id: int, name: str) -> Any:
    return exists().where(
        ReviewLabel.item_id == item_id,
        ReviewLabel.reviewer == name,
        ReviewLabel.adjudication.is_(False),
    )


def labelled_by(engine: Engine, item_ids: Iterable[int], name: str) -> set[int]:
    """Which of the items `name` labelled as a reviewer."""
    ids = sorted(set(item_ids))
    if not ids:
        return set()
    with engine.connect() as conn:
        found = conn.execute(
            select(ReviewLabel.item_id)
            .distinct()
            .where(
                ReviewLabel.item_id.in_(ids),
                ReviewLabel.reviewer == name,
                ReviewLabel.adjudication.is_(False),
            )
        ).scalars()
        return {int(i) for i in found}


def adjudicate(
    engine: Engine,
    lead: User,
    item_id: int,
    decisions: Mapping[str, str],
    note: str | None,
    now: datetime,
    *,
    allow_own: bool = False,
) -> int:
    """Store a lead's decisions (topic -> yes/no/unsure) as adjudication labels, audit each with
    the value it replaces, and settle the item; all in one transaction. Returns how many.

    OwnItem when the lead labelled the item as a reviewer, unless `allow_own`."""
    if not decisions:
        return 0
    for topic, label in decisions.items():
        if topic not in ALL_TOPICS:
            raise ValueError(f"{topic!r} is not a topic")
        if label not in LABELS:
            raise ValueError(f"{topic_name(topic)}: choose yes, no or unsure")
    now = utc_naive(now)
    stmt = insert_for(engine)(ReviewLabel)
    stmt = stmt.on_conflict_do_update(
        index_elements=["item_id", "reviewer", "topic", "adjudication"],
        set_={"label": stmt.excluded.label, "note": stmt.excluded.note, "created_at": now},
    )
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(select(ReviewItem.id).where(ReviewItem.id == item_id).with_for_update())
        if not allow_own and conn.execute(select(_own(item_id, lead.name))).scalar():
            raise OwnItem(
                f"{lead.name} labelled item {item_id} as a reviewer: another lead adjudicates it"
            )
        old = {
            str(t): str(label)
            for t, label in conn.execute(
                select(ReviewLabel.topic, ReviewLabel.label).where(
                    ReviewLabel.item_id == item_id, ReviewLabel.adjudication.is_(True)
                )
            )
        }
        conn.execute(
            stmt,
            [
                {
                    "item_id": item_id,
                    "reviewer": lead.name,
                    "topic": topic,
                    "label": label,
                    "note": note if topic == ANY_TOPIC else None,
                    "adjudication": True,
                    "created_at": now,
                }
                for topic, label in decisions.items()
            ],
        )
        for topic, label in decisions.items():
            audit.append(
                conn,
                "adjudication",
                user=lead.name,
                item_id=item_id,
                detail={"topic": topic, "old": old.get(topic), "new": label},
                at=now,
            )
        _settle(conn, [item_id])
    return len(decisions)


@dataclass(frozen=True)
class AgreementRow:
    key: str
    name: str
    result: PairAgreement


def _pairs(engine: Engine, sample_id: int) -> dict[str, list[tuple[str, str, str, str]]]:
    """topic -> (reviewer, label, other reviewer, other label) per item with two labels there
    (reviewers in name order, as `vemeter review agreement` pairs them)."""
    out: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for item in _double_items(engine, sample_id).values():
        for topic, given in item.given.items():
            if len(given) >= 2:
                (r1, l1), (r2, l2) = sorted(given.items())[:2]
                out[topic].append((r1, l1, r2, l2))
    return out


def agreement_by_topic(engine: Engine, sample_id: int) -> list[AgreementRow]:
    """Agreement of the two reviewers on each topic (the overall label first)."""
    pairs = _pairs(engine, sample_id)
    return [
        AgreementRow(t, topic_name(t), pair_agreement([(a, b) for _, a, _, b in pairs.get(t, [])]))
        for t in ALL_TOPICS
    ]


def agreement_by_reviewer(engine: Engine, sample_id: int) -> list[AgreementRow]:
    """Each reviewer's agreement with whoever else labelled their items (overall label)."""
    mine: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r1, l1, r2, l2 in _pairs(engine, sample_id).get(ANY_TOPIC, []):
        mine[r1].append((l1, l2))
        mine[r2].append((l2, l1))
    return [AgreementRow(r, r, pair_agreement(mine[r])) for r in sorted(mine)]


def export_adjudications(engine: Engine, sample_id: int) -> tuple[str, int]:
    """The sample's adjudication labels as the CSV sheet `vemeter review import --adjudicate`
    reads (written by storage.sheets.SheetWriter, as `vemeter review export` writes); and how
    many rows it has."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ReviewLabel.item_id, ReviewLabel.reviewer, ReviewLabel.label, ReviewLabel.topic,
                ReviewLabel.note,
            )
            .join(ReviewItem, ReviewItem.id == ReviewLabel.item_id)
            .where(ReviewItem.sample_id == sample_id, ReviewLabel.adjudication.is_(True))
            .order_by(ReviewItem.position, ReviewLabel.topic)
        ).all()  # fmt: skip
    out = io.StringIO()
    writer = SheetWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for item_id, reviewer, label, topic, note in rows:
        writer.writerow(
            {"item_id": int(item_id), "reviewer": reviewer, "label": label, "topic": topic,
             "note": note or ""}
        )  # fmt: skip
    return out.getvalue(), len(rows)
