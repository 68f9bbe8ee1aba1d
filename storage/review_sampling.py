"""Draw stratified review samples (flagged, borderline, low per cell) from a closed period."""

from __future__ import annotations

import json
import math
import secrets
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, case, exists, func, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from crawler.errors import InputError
from storage.models import CrawlRun, Post, ReviewItem, ReviewSample, Tag

STRATA = ("flagged", "borderline", "low")
# The stratum kinds of analysis.allocation: "low" is what it calls "unflagged".
_KIND = {"flagged": "flagged", "borderline": "borderline", "low": "unflagged"}
CELL_KEYS = ("platform", "source", "target", "language")
KINDS = ("prevalence", "views")
# A design stratum: (the cell's --by values, flagged | borderline | low).
Key = tuple[tuple[str, ...], str]
# One drawn post: (post pk, inclusion probability, times drawn, views at draw time).
Picked = tuple[int, float, int, int | None]
# Rows fetched per round trip while streaming a period's posts.
_CHUNK = 20_000

__all__ = ["CELL_KEYS", "KINDS", "STRATA", "DrawnSample", "SampleRequest", "StratumDraw", "draw"]


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


@dataclass(frozen=True)
class StratumDraw:
    """One design stratum (a cell × flagged/borderline/low) and what was drawn from it."""

    cell: dict[str, str]
    stratum: str
    size: int
    views: int
    allocated: int
    drawn: int


@dataclass
class DrawnSample:
    sample_id: int
    seed: int
    strata: list[StratumDraw]
    items: int
    without_text: int


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _cell_columns(by: Sequence[str]) -> list[ColumnElement[Any]]:
    return [getattr(Post, key).expression for key in by]


def _stratum(engine: Engine, threshold: float) -> ColumnElement[str]:
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
    stmt = stmt.where(Post.published_at < _naive(until))
    return stmt if since is None else stmt.where(Post.published_at >= _naive(since))


def check_closed(engine: Engine, until: datetime, now: datetime | None = None) -> None:
    """Refuse a period that is still open: it must have ended and a crawl must have finished since."""
    now = now or datetime.now(UTC)
    if _naive(until) > _naive(now):
        raise InputError(
            f"--until {until:%Y-%m-%d %H:%M} is in the future: review samples need a closed "
            "period (choose an --until in the past)"
        )
    with engine.connect() as conn:
        last = conn.execute(
            select(func.max(CrawlRun.finished_at)).where(CrawlRun.status != "running")
        ).scalar_one_or_none()
    if last is None or _naive(last) < _naive(until):
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
class _Frame:
    """The posts of one design stratum, in (platform, post_id) order: the frame a sample is drawn from."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    views: array[int] = field(default_factory=lambda: array("q"))  # -1: not known

    def counts(self) -> tuple[int, int]:
        """(posts, known views), as SQL's COUNT(*) and SUM(views) would give them."""
        views = np.frombuffer(self.views, dtype=np.int64)
        return len(self.ids), int(views[views > 0].sum())


def _frames(
    engine: Engine, request: SampleRequest, stratum: ColumnElement[str]
) -> dict[Key, _Frame]:
    """Every post of the period by (cell values, stratum), read in one pass in post-id order.

    One pass (8 bytes per post and per view count in memory) instead of a count query and a
    second scan: on a million posts the per-post stratum lookups are most of the time.
    """
    stmt = select(Post.id, Post.views, stratum, *_cell_columns(request.by))
    # (platform, post_id) order, not storage order: parallel writers store posts in any order,
    # and the same seed over the same posts must give the same sample (the unique index).
    stmt = _period(stmt, request.since, request.until).order_by(Post.platform, Post.post_id)
    # Keyed by the raw (stratum, *cell values) while reading: the inner loop stays cheap.
    raw: dict[tuple[Any, ...], _Frame] = {}
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_CHUNK).execute(stmt)
        for part in result.partitions():
            for row in part:
                frame = raw.get(row[2:])
                if frame is None:
                    frame = raw[row[2:]] = _Frame()
                frame.ids.append(row[0])
                frame.views.append(-1 if row[1] is None else row[1])
    frames = {(tuple(str(v) for v in key[1:]), str(key[0])): frame for key, frame in raw.items()}
    return dict(frames)


def _allocate(
    request: SampleRequest, counts: Mapping[Key, tuple[int, int]], design: dict[str, Any]
) -> dict[Key, int]:
    """Neyman allocation over every design stratum, with a floor per stratum (methods §6.3).

    The planning values and the floor used are recorded in `design`.
    """
    from analysis.allocation import PlannedStratum, default_floor, neyman_allocation
    from analysis.allocation import default_planning_values as defaults

    # Post samples allocate by posts; view samples by views (they sample views, §9.2).
    weight = 0 if request.kind == "prevalence" else 1
    keys = sorted(k for k, v in counts.items() if v[weight] > 0)
    if not keys:
        return {}
    if request.size < len(keys):
        raise InputError(
            f"--size {request.size} is smaller than the {len(keys)} design strata (cells × "
            "flagged/borderline/low) of this period (raise --size or drop a --by key)"
        )
    kinds = sorted({_KIND[name] for _, name in keys})
    planning = {name: defaults(kinds)[_KIND[name]] for name in STRATA if _KIND[name] in kinds}
    planning.update(request.planning)
    cells = len({cell for cell, _ in keys})
    per_cell = request.size // cells
    if request.floor_share is None:
        floor = default_floor(per_cell, len(kinds))
    else:
        floor = min(math.ceil(request.floor_share * per_cell), per_cell // len(kinds))
    names = {f"s{i}": key for i, key in enumerate(keys)}
    planned = [
        PlannedStratum(name=name, size=counts[key][weight], planning_p=planning[key[1]])
        for name, key in names.items()
    ]
    allocation = neyman_allocation(
        planned, request.size, floor=floor, capped=request.kind == "prevalence"
    )
    design.update(planning=planning, floor=floor)
    return {names[name]: int(n) for name, n in allocation.items()}


def _draw_posts(
    frames: Mapping[Key, _Frame], allocation: Mapping[Key, int], rng: np.random.Generator
) -> dict[Key, list[Picked]]:
    """Simple random samples without replacement, π_i = n_h/N_h (methods §6.1)."""
    picked: dict[Key, list[Picked]] = {}
    for key, n in sorted(allocation.items()):
        frame = frames[key]
        if n <= 0:
            continue
        chosen = sorted(rng.choice(len(frame.ids), size=n, replace=False).tolist())
        picked[key] = [
            (frame.ids[i], n / len(frame.ids), 1, frame.views[i] if frame.views[i] >= 0 else None)
            for i in chosen
        ]
    return picked


def _draw_views(
    frames: Mapping[Key, _Frame], allocation: Mapping[Key, int], rng: np.random.Generator
) -> dict[Key, list[Picked]]:
    """Draws with probability proportional to views, with replacement, per stratum (§9.2)."""
    from analysis.allocation import pps_sample

    picked: dict[Key, list[Picked]] = {}
    for key, n in sorted(allocation.items()):
        frame = frames[key]
        if n <= 0:
            continue
        views = np.frombuffer(frame.views, dtype=np.int64).astype(np.float64)
        views[views < 0] = np.nan  # unknown views: outside the view frame, never drawn
        draws = pps_sample(range(len(frame.ids)), views.tolist(), n, rng)
        times = Counter(i for i, _ in draws)
        probability = dict(draws)
        picked[key] = [
            (frame.ids[i], probability[i], times[i], frame.views[i]) for i in sorted(times)
        ]
    return picked


def _classifiers(engine: Engine) -> list[str]:
    """The classifier versions of every finished crawl and import: strata depend on them."""
    with engine.connect() as conn:
        runs = conn.execute(
            select(CrawlRun.classifiers).where(CrawlRun.status != "running")
        ).scalars()
        return sorted({f"{k}={v}" for used in runs for k, v in (used or {}).items()})


def draw(engine: Engine, request: SampleRequest, *, now: datetime | None = None) -> DrawnSample:
    """Draw a review sample and store it with its design; returns what was drawn per stratum.

    Reproducible: the same seed over the same posts gives the same items, whatever order they
    were stored in (posts are streamed in (platform, post_id) order and ranks are chosen by a
    numpy Generator seeded with `seed`).
    """
    if request.kind not in KINDS:
        raise InputError(f"{request.kind!r} is not a sample kind (use prevalence or views)")
    bad = [k for k in request.by if k not in CELL_KEYS]
    if bad:
        raise InputError(f"cannot sample by {', '.join(bad)} (use any of: {','.join(CELL_KEYS)})")
    if request.size < 1:
        raise InputError(f"--size {request.size} is not a sample size (give at least 1)")
    check_closed(engine, request.until, now)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    rng = np.random.default_rng(seed)
    frames = _frames(engine, request, _stratum(engine, request.borderline_score))
    counts = {key: frame.counts() for key, frame in frames.items()}
    if not counts:
        raise InputError(
            "no posts were published in this period (check --since/--until against `vemeter stats`)"
        )
    design: dict[str, Any] = {
        "kind": request.kind,
        "floor_share": request.floor_share,
        "double_share": request.double_share,
        "borderline_score": request.borderline_score,
        "classifiers": _classifiers(engine),
    }
    allocation = _allocate(request, counts, design)
    if request.kind == "prevalence":
        picked = _draw_posts(frames, allocation, rng)
    else:
        picked = _draw_views(frames, allocation, rng)
    strata = [
        StratumDraw(
            cell=dict(zip(request.by, cell, strict=True)),
            stratum=name,
            size=counts[(cell, name)][0],
            views=counts[(cell, name)][1],
            allocated=allocation.get((cell, name), 0),
            drawn=len(picked.get((cell, name), [])),
        )
        for cell, name in sorted(counts, key=lambda k: (k[0], STRATA.index(k[1])))
    ]
    design["strata"] = [s.__dict__ for s in strata]
    sample_id, items = _store(engine, request, seed, design, picked, counts, rng, now)
    with engine.connect() as conn:
        without_text = conn.execute(
            select(func.count())
            .select_from(ReviewItem)
            .join(Post, Post.id == ReviewItem.post_pk)
            .where(ReviewItem.sample_id == sample_id, Post.text.is_(None))
        ).scalar_one()
    return DrawnSample(sample_id, seed, strata, items, int(without_text))


def _store(
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
                "created_at": _naive(now or datetime.now(UTC)),
                "since": _naive(request.since) if request.since else None,
                "until": _naive(request.until),
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
