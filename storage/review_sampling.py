"""The database side of review samples: the frames a sample is drawn from, and the stored sample.

The design (allocation and draws) is analysis.sampling's.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, case, exists, func, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crawler.errors import InputError
from storage.engine import utc_naive
from storage.models import CrawlRun, Post, ReviewItem, ReviewSample, Tag

STRATA = ("flagged", "borderline", "low")
# The stratum kinds of analysis.allocation: "low" is what it calls "unflagged".
KIND = {"flagged": "flagged", "borderline": "borderline", "low": "unflagged"}
CELL_KEYS = ("platform", "source", "target", "language")
KINDS = ("prevalence", "views")
# A design stratum: (the cell's --by values, flagged | borderline | low).
Key = tuple[tuple[str, ...], str]
# One drawn post: (post pk, inclusion probability, times drawn, views at draw time).
Picked = tuple[int, float, int, int | None]
# Rows fetched per round trip while streaming a period's posts.
_CHUNK = 20_000

__all__ = [
    "CELL_KEYS", "KINDS", "STRATA", "Frame", "Key", "Picked", "SampleRequest",
    "check_closed", "classifier_versions", "read_frames", "store_sample", "text_advice",
    "without_text",
]  # fmt: skip


@dataclass(frozen=True)
class SampleRequest:
    """What to draw: budget, closed period, cell keys, and the design settings (config `review:`)."""

    size: int
    until: datetime
    since: datetime | None = None
    by: tuple[str, ...] = ()
    kind: str = "prevalence"
    seed: int | None = None
    floor_share: float | None = None  # None: analysis.allocation.default_floor
    double_share: float = 0.15
    borderline_score: float = 0.2
    planning: Mapping[str, float] = field(default_factory=dict)
    project: str = ""
    config_hash: str = ""


def _cell_columns(by: Sequence[str]) -> list[ColumnElement[Any]]:
    return [getattr(Post, key).expression for key in by]


def stratum_of(engine: Engine, threshold: float) -> ColumnElement[str]:
    """flagged; else borderline (a signal tag, or a model score of at least `threshold`); else low."""
    with engine.connect() as conn:
        has_marks = conn.execute(
            select(Tag.id).where(Tag.kind.in_(("signal", "score"))).limit(1)
        ).first()
    if has_marks is None:
        # Without scores or signals there is no borderline stratum; skip the per-post lookups.
        return case((Post.flagged.is_(True), "flagged"), else_="low")
    marked = exists().where(
        Tag.post_pk == Post.id,
        or_(Tag.kind == "signal", and_(Tag.kind == "score", Tag.score >= threshold)),
    )
    return case((Post.flagged.is_(True), "flagged"), (marked, "borderline"), else_="low")


def _period(stmt: Any, since: datetime | None, until: datetime) -> Any:
    stmt = stmt.where(Post.published_at < utc_naive(until))
    return stmt if since is None else stmt.where(Post.published_at >= utc_naive(since))


def check_closed(engine: Engine, until: datetime, now: datetime | None = None) -> None:
    """Refuse a period that is still open: it must have ended and a crawl must have finished since."""
    now = now or datetime.now(UTC)
    if utc_naive(until) > utc_naive(now):
        raise InputError(
            f"--until {until:%Y-%m-%d %H:%M} is in the future: review samples need a closed "
            "period (choose an --until in the past)"
        )
    with engine.connect() as conn:
        last = conn.execute(
            select(func.max(CrawlRun.finished_at)).where(CrawlRun.status != "running")
        ).scalar_one_or_none()
    if last is None or utc_naive(last) < utc_naive(until):
        when = (
            "no crawl or import has finished"
            if last is None
            else f"the last one ended {last:%Y-%m-%d %H:%M}"
        )
        raise InputError(
            f"the period up to {until:%Y-%m-%d %H:%M} may still be missing posts: {when} "
            "(crawl after the period ends, then sample; or choose an earlier --until)"
        )


@dataclass
class Frame:
    """The posts of one design stratum, in (platform, post_id) order: the frame a sample is drawn from."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    views: array[int] = field(default_factory=lambda: array("q"))  # -1: not known

    def counts(self) -> tuple[int, int]:
        """(posts, known views), as SQL's COUNT(*) and SUM(views) would give them."""
        views = np.frombuffer(self.views, dtype=np.int64)
        return len(self.ids), int(views[views > 0].sum())


def read_frames(
    engine: Engine, request: SampleRequest, stratum: ColumnElement[str]
) -> dict[Key, Frame]:
    """Every post of the period by (cell values, stratum), read in one pass in post-id order.

    One pass (8 bytes per post and per view count in memory) instead of a count query and a
    second scan: on a million posts the per-post stratum lookups are most of the time.
    """
    stmt = select(Post.id, Post.views, stratum, *_cell_columns(request.by))
    # (platform, post_id) order, not storage order: parallel writers store posts in any order,
    # and the same seed over the same posts must give the same sample (the unique index).
    stmt = _period(stmt, request.since, request.until).order_by(Post.platform, Post.post_id)
    # Keyed by the raw (stratum, *cell values) while reading: the inner loop stays cheap.
    raw: dict[tuple[Any, ...], Frame] = {}
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(stmt)
        for part in result.partitions():
            for row in part:
                frame = raw.get(row[2:])
                if frame is None:
                    frame = raw[row[2:]] = Frame()
                frame.ids.append(row[0])
                frame.views.append(-1 if row[1] is None else row[1])
    frames = {(tuple(str(v) for v in key[1:]), str(key[0])): frame for key, frame in raw.items()}
    return dict(frames)


def classifier_versions(engine: Engine) -> list[str]:
    """The classifier versions of every finished crawl and import: strata depend on them."""
    with engine.connect() as conn:
        runs = conn.execute(
            select(CrawlRun.classifiers).where(CrawlRun.status != "running")
        ).scalars()
        return sorted({f"{k}={v}" for used in runs for k, v in (used or {}).items()})


def store_sample(
    engine: Engine,
    request: SampleRequest,
    seed: int,
    design: dict[str, Any],
    picked: Mapping[Key, list[Picked]],
    counts: Mapping[Key, tuple[int, int]],
    rng: np.random.Generator,
    now: datetime | None,
) -> tuple[int, int]:
    total = sum(len(v) for v in picked.values())
    # A random order over the whole sample, so the sheet reveals neither stratum nor score.
    order = iter(rng.permutation(total).tolist())
    rows: list[dict[str, Any]] = []
    for key in sorted(picked):
        chosen = picked[key]
        doubles = round(request.double_share * len(chosen))
        if request.double_share > 0 and len(chosen) >= 2:
            doubles = max(1, doubles)
        twice = set(rng.choice(len(chosen), size=doubles, replace=False).tolist())
        for i, (pk, probability, times, views) in enumerate(chosen):
            rows.append(
                {
                    "post_pk": pk,
                    "position": next(order) + 1,
                    "cell": json.dumps(dict(zip(request.by, key[0], strict=True)), sort_keys=True),
                    "stratum": key[1],
                    "stratum_size": counts[key][0],
                    "stratum_views": counts[key][1] if request.kind == "views" else None,
                    "inclusion_probability": probability,
                    "draws": times,
                    "views": views,
                    "double_label": i in twice,
                    "settled": False,
                }
            )
    with engine.begin() as conn:
        sample_id = conn.execute(
            insert(ReviewSample).returning(ReviewSample.id),
            {
                "kind": request.kind,
                "project": request.project,
                "config_hash": request.config_hash,
                "created_at": utc_naive(now or datetime.now(UTC)),
                "since": utc_naive(request.since) if request.since else None,
                "until": utc_naive(request.until),
                "by_keys": ",".join(request.by),
                "seed": seed,
                "size": request.size,
                "design": design,
            },
        ).scalar_one()
        for row in rows:
            row["sample_id"] = sample_id
        if rows:
            conn.execute(insert(ReviewItem), rows)
    return int(sample_id), len(rows)


def without_text(engine: Engine, sample_id: int) -> int:
    """How many items of a sample have no text to review (the privacy setting did not keep it)."""
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(ReviewItem)
            .join(Post, Post.id == ReviewItem.post_pk)
            .where(ReviewItem.sample_id == sample_id, Post.text.is_(None))
        ).scalar_one()
    return int(count)


def text_advice(missing: int, sampled: int, keep_text: str) -> str | None:
    """What `review sample` says when sampled items have no text: how many, and the fix that
    applies to this keep_text (None when every item has its text).

    Posts drawn for review keep their text until settled, but posts stored without text (under
    a keep_text that kept less, or erased by retention) get it back only from the platform.
    """
    if not missing:
        return None
    share = f"{missing:,} of {sampled:,} sampled posts" if sampled else f"{missing:,} sampled posts"
    head = f"{share} have no stored text, so reviewers need the url column"
    if keep_text != "all":
        return (
            f"{head}; set privacy.keep_text: all (now {keep_text!r}, with a "
            "privacy.text_retention_days), run `vemeter crawl CONFIG --full` to fill their "
            "text, then draw the sample again"
        )
    return (
        f"{head}; privacy.keep_text is already 'all', so their text was stored before it was "
        "set or erased by privacy.text_retention_days: run `vemeter crawl CONFIG --full` to "
        "fill it, then draw the sample again"
    )
