"""Review samples as the estimators need them: resolved labels per item and counts per design stratum.

Label resolution (one topic at a time; topic "*" is "any violent-extremist content", the
label prevalence is estimated from):

- the latest adjudication wins;
- otherwise the reviewers' label when they all agree (possibly "unsure");
- otherwise "disputed": it needs an adjudicator (`vemeter review import --adjudicate`).

Only "yes" and "no" count as reviewed; unsure, disputed and unlabelled items are reported
beside the counts so that a figure never silently rests on fewer reviews than it seems.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.errors import InputError
from storage.models import Post, ReviewItem, ReviewLabel, ReviewSample
from storage.topics import ANY_TOPIC

YES, NO, UNSURE, DISPUTED = "yes", "no", "unsure", "disputed"

__all__ = [
    "ANY_TOPIC",
    "DISPUTED",
    "NO",
    "UNSURE",
    "YES",
    "ResolvedItem",
    "ReviewedStratum",
    "SampleInfo",
    "agreement_units",
    "export_rows",
    "resolve",
    "resolved_items",
    "reviewed_strata",
    "sample_info",
]


def resolve(labels: Sequence[tuple[str, bool]]) -> str | None:
    """One item's label from its (label, is_adjudication) pairs in the order they were stored."""
    adjudicated = [label for label, adjudication in labels if adjudication]
    if adjudicated:
        return adjudicated[-1]
    given = {label for label, _ in labels}
    if not given:
        return None
    return given.pop() if len(given) == 1 else DISPUTED


@dataclass(frozen=True)
class SampleInfo:
    """A stored sample's header: what was drawn, from which period, and how."""

    id: int
    kind: str
    since: datetime | None
    until: datetime
    by: tuple[str, ...]
    seed: int
    size: int
    created_at: datetime
    design: dict[str, Any]


def sample_info(
    engine: Engine, sample_id: int | None = None, kind: str | None = None
) -> SampleInfo:
    """The sample with this id, or the newest one (of this kind); InputError when there is none."""
    stmt = select(ReviewSample)
    if sample_id is not None:
        stmt = stmt.where(ReviewSample.id == sample_id)
    if kind is not None:
        stmt = stmt.where(ReviewSample.kind == kind)
    with Session(engine) as session:
        m = session.scalars(stmt.order_by(ReviewSample.id.desc()).limit(1)).first()
    if m is None:
        what = f"review sample {sample_id}" if sample_id is not None else "review sample"
        raise InputError(f"no {what} in this database (draw one: vemeter review sample CONFIG)")
    return SampleInfo(
        id=m.id, kind=m.kind, since=m.since, until=m.until,
        by=tuple(k for k in m.by_keys.split(",") if k), seed=m.seed, size=m.size,
        created_at=m.created_at, design=dict(m.design),
    )  # fmt: skip


@dataclass(frozen=True)
class ResolvedItem:
    """One sampled post with its design facts and labels (methods §0.1, review-table inputs)."""

    item_id: int
    post_pk: int
    cell: dict[str, str]
    stratum: str
    inclusion_probability: float
    draws: int
    label: str | None  # yes, no, unsure, disputed, or None when nobody labelled it
    labels: dict[str, str]  # reviewer -> label, adjudications left out


def _labels_by_item(
    engine: Engine, item_ids: Iterable[int], topic: str
) -> dict[int, list[tuple[str, str, bool]]]:
    """(reviewer, label, adjudication) per item in storage order."""
    ids = sorted(set(item_ids))
    out: dict[int, list[tuple[str, str, bool]]] = defaultdict(list)
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(
                    ReviewLabel.item_id,
                    ReviewLabel.reviewer,
                    ReviewLabel.label,
                    ReviewLabel.adjudication,
                )
                .where(
                    ReviewLabel.item_id.in_(ids[start : start + 500]), ReviewLabel.topic == topic
                )
                .order_by(ReviewLabel.created_at, ReviewLabel.id)
            ).all()
            for item_id, reviewer, label, adjudication in rows:
                out[int(item_id)].append((str(reviewer), str(label), bool(adjudication)))
    return out


def resolved_items(engine: Engine, sample_id: int, topic: str = ANY_TOPIC) -> list[ResolvedItem]:
    """Every item of the sample with its resolved label for `topic`, in review order."""
    with engine.connect() as conn:
        items = conn.execute(
            select(
                ReviewItem.id, ReviewItem.post_pk, ReviewItem.cell, ReviewItem.stratum,
                ReviewItem.inclusion_probability, ReviewItem.draws,
            ).where(ReviewItem.sample_id == sample_id).order_by(ReviewItem.position)
        ).all()  # fmt: skip
    labels = _labels_by_item(engine, (int(i[0]) for i in items), topic)
    return [
        ResolvedItem(
            item_id=int(item_id),
            post_pk=int(post_pk),
            cell=json.loads(cell),
            stratum=str(stratum),
            inclusion_probability=float(probability),
            draws=int(draws),
            label=resolve([(label, adj) for _, label, adj in labels.get(int(item_id), [])]),
            labels={r: label for r, label, adj in labels.get(int(item_id), []) if not adj},
        )
        for item_id, post_pk, cell, stratum, probability, draws in items
    ]


@dataclass(frozen=True)
class ReviewedStratum:
    """One design stratum of a sample: its population and what the review found in it.

    Post samples (kind "prevalence"): `reviewed` is n_h and `positives` x_h in
    P̂ = Σ_h (size/N)·x_h/n_h, N = Σ size over the sample's strata (methods §6.1).
    View samples (kind "views"): counts are per draw, a post drawn twice counting twice, so
    `reviewed` is m_h and `positives` x_h in P̂_v = Σ_h (views/V)·x_h/m_h (§9.2).
    """

    cell: dict[str, str]  # the --by key values; {} when the whole period is one cell
    stratum: str  # flagged, borderline or low
    size: int  # N_h: posts of the stratum in the period at draw time
    views: int  # V_h: their known views at draw time
    sampled: int  # distinct posts drawn
    reviewed: int  # n_h (or m_h): settled yes/no labels
    positives: int  # x_h: of those, yes
    unsure: int  # resolved to unsure: left out of n_h
    disputed: int  # reviewers disagree and nobody adjudicated: left out of n_h
    unlabelled: int  # nobody labelled it yet


def reviewed_strata(
    engine: Engine, sample_id: int, topic: str = ANY_TOPIC
) -> list[ReviewedStratum]:
    """Per design stratum (cell × flagged/borderline/low) of the sample, population and labels.

    Every stratum of the period is listed, also those that got no items, so Σ size is the
    period's N. Flagged / unflagged totals of the population are the sums of `size` over
    stratum "flagged" and over the rest.
    """
    info = sample_info(engine, sample_id)
    per_draw = info.kind == "views"
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in resolved_items(engine, sample_id, topic):
        t = tally[(json.dumps(item.cell, sort_keys=True), item.stratum)]
        weight = item.draws if per_draw else 1
        t["sampled"] += 1
        if item.label in (YES, NO):
            t["reviewed"] += weight
            t["positives"] += weight if item.label == YES else 0
        else:
            t[item.label or "unlabelled"] += 1
    out = []
    for s in info.design["strata"]:
        t = tally[(json.dumps(s["cell"], sort_keys=True), s["stratum"])]
        out.append(
            ReviewedStratum(
                cell=dict(s["cell"]),
                stratum=s["stratum"],
                size=int(s["size"]),
                views=int(s["views"]),
                sampled=t["sampled"],
                reviewed=t["reviewed"],
                positives=t["positives"],
                unsure=t[UNSURE],
                disputed=t[DISPUTED],
                unlabelled=t["unlabelled"],
            )
        )
    return out


def agreement_units(
    engine: Engine, sample_id: int, topic: str = ANY_TOPIC
) -> dict[str, dict[int, list[str]]]:
    """Per stratum, the reviewers' labels of each item labelled by two or more (no adjudications)."""
    units: dict[str, dict[int, list[str]]] = defaultdict(dict)
    for item in resolved_items(engine, sample_id, topic):
        if len(item.labels) >= 2:
            units[item.stratum][item.item_id] = [item.labels[r] for r in sorted(item.labels)]
    return dict(units)


EXPORT_COLUMNS = (
    "item_id", "post_id", "platform", "source", "target", "published_at", "language",
    "flagged", "url", "text", "stratum", "inclusion_probability", "double_label",
    "reviewer", "label", "topic", "note",
)  # fmt: skip
BLIND_HIDDEN = ("flagged", "stratum", "inclusion_probability")


def export_rows(engine: Engine, sample_id: int, *, blind: bool = False) -> list[dict[str, Any]]:
    """One row per item in review order, with empty reviewer/label/topic/note to fill in.

    `blind` leaves out what the classifier said (methods §6.5: a reviewer who sees the flag
    labels differently).
    """
    with engine.connect() as conn:
        result = conn.execute(
            select(
                ReviewItem.id, Post.post_id, Post.platform, Post.source, Post.target,
                Post.published_at, Post.language, Post.flagged, Post.url, Post.text,
                ReviewItem.stratum, ReviewItem.inclusion_probability, ReviewItem.double_label,
            )
            .join(Post, Post.id == ReviewItem.post_pk)
            .where(ReviewItem.sample_id == sample_id)
            .order_by(ReviewItem.position)
        ).all()  # fmt: skip
    rows = []
    for r in result:
        row: dict[str, Any] = dict(zip(EXPORT_COLUMNS[:13], r, strict=True))
        published = r[5].astimezone(UTC) if r[5].tzinfo else r[5]  # stored as naive UTC
        row["published_at"] = published.replace(tzinfo=None).isoformat() + "Z"
        row["flagged"] = "yes" if r[7] else "no"
        row["double_label"] = "yes" if r[12] else "no"
        row["text"] = r[9] or ""
        row["url"] = r[8] or ""
        row.update(reviewer="", label="", topic="", note="")
        if blind:
            for column in BLIND_HIDDEN:
                row.pop(column)
        rows.append(row)
    return rows
