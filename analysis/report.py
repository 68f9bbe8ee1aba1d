"""`vemeter report`: gather counts, estimates, coverage and provenance into an offline HTML folder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from analysis import charts
from analysis.estimate import Estimate
from analysis.intervals import wilson_interval
from analysis.provenance import latest_targets, provenance
from analysis.report_charts import CHART_FILES, draw_charts
from analysis.report_html import render_html
from analysis.report_model import (
    DEFAULT_MIN_CELL,
    MAX_PANELS,
    Group,
    Project,
    Report,
    ReportFiles,
    TargetStatus,
)
from analysis.report_review import ReviewSection, review_section
from crawler.errors import InputError
from storage.models import DailyCount
from storage.stats import NO_TOPIC, count_posts
from storage.topics import ANY_TOPIC

__all__ = ["DEFAULT_MIN_CELL", "Report", "ReportFiles", "gather", "write_report"]


def _groups(rows: Iterable[dict[str, Any]], keys: list[str]) -> list[Group]:
    return [Group(tuple(str(r[k]) for k in keys), int(r["posts"]), int(r["flagged"])) for r in rows]


def _bin_unit(first: date | None, last: date | None) -> str:
    """Days for up to a month, then weeks, then months: enough posts per bin to read a rate."""
    if first is None or last is None or (last - first).days <= 31:
        return "day"
    return "week" if (last - first).days <= 730 else "month"


def _bin_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


Bins = dict[str, dict[date, list[int]]]


def _binned(
    rows: Iterable[dict[str, Any]], key: str, unit: str, keep: list[str], other: str
) -> Bins:
    """[posts, flagged] per series name and bin start; keys not kept are pooled under `other`."""
    bins: Bins = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        name = str(row[key]) if str(row[key]) in keep else other
        start = _bin_start(date.fromisoformat(str(row["day"])), unit)
        bins[name][start][0] += int(row["posts"])
        bins[name][start][1] += int(row["flagged"])
    return {name: bins[name] for name in [*keep, other] if name in bins}


def _bin_end(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def _series(bins: Bins, unit: str, review: ReviewSection) -> list[charts.Series]:
    """Per-bin Wilson intervals of the flag rate, plus model-based reviewed figures (§8) for
    the bins wholly inside the review sample's period, when there is a labelled sample."""
    model: dict[str, Estimate] = {}
    if review.available:
        lo = review.since.date() if review.since else date.min
        hi = review.until.date() if review.until else date.max
        model = review.model_based([
            (f"{name}|{start}", posts, flagged)
            for name, per in bins.items()
            for start, (posts, flagged) in per.items()
            if lo <= start and _bin_end(start, unit) <= hi
        ])  # fmt: skip
    result = []
    for name, per in bins.items():
        points, reviewed = [], []
        for start, (posts, flagged) in sorted(per.items()):
            low, high = wilson_interval(flagged, posts) if posts else (0.0, 1.0)
            points.append(charts.Point(start, flagged / posts if posts else 0.0, low, high))
            if (e := model.get(f"{name}|{start}")) is not None:
                reviewed.append(charts.Point(start, e.prevalence, e.ci_low, e.ci_high))
        total = sum(p for p, _ in per.values())
        result.append(charts.Series(f"{name}: {total:,} posts", points, reviewed))
    return result


def _latest_targets(engine: Engine) -> list[TargetStatus]:
    """Each target's row from the newest run that reached it (the same rule as provenance)."""
    return [
        TargetStatus(r.platform, r.source, r.target, r.status, r.reason, int(r.run_id))
        for r in latest_targets(engine)
    ]


def _day_range(
    engine: Engine, since: datetime | None, until: datetime | None
) -> tuple[date | None, date | None]:
    stmt = select(func.min(DailyCount.day), func.max(DailyCount.day)).where(
        DailyCount.topic == ANY_TOPIC
    )
    if since is not None:
        stmt = stmt.where(DailyCount.day >= since.astimezone(UTC).date())
    if until is not None:
        stmt = stmt.where(DailyCount.day < until.astimezone(UTC).date())
    with engine.connect() as conn:
        first, last = conn.execute(stmt).one()
    return _as_date(first), _as_date(last)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _whole_days(since: datetime | None, until: datetime | None) -> None:
    """The report bins by day, so its window must not cut through one."""
    for name, value in (("--since", since), ("--until", until)):
        if value is not None and value.astimezone(UTC).time() != datetime.min.time():
            raise InputError(
                f"{name}: {value.isoformat()} is not midnight UTC (reports cover whole days: "
                "write a date such as 2025-01-31)"
            )


def gather(
    engine: Engine,
    cfg: Project,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> Report:
    """Read everything the report shows from the counts, run records and review tables."""
    _whole_days(since, until)
    window: dict[str, Any] = {"since": since, "until": until}
    first, last = _day_range(engine, since, until)
    unit = _bin_unit(first, last)
    total = _groups(count_posts(engine, [], **window), [])[0]
    platforms = _groups(count_posts(engine, ["platform"], **window), ["platform"])
    languages = sorted(
        _groups(count_posts(engine, ["language"], **window), ["language"]),
        key=lambda g: (-g.posts, g.key),
    )
    topics = _groups(count_posts(engine, ["topic"], **window), ["topic"])
    sources = sorted(
        _groups(count_posts(engine, ["platform", "source", "target"], **window),
                ["platform", "source", "target"]),
        key=lambda g: (-g.flagged, -g.posts, g.key),
    )  # fmt: skip
    review = review_section(
        engine,
        since=since,
        until=until,
        platform_counts=lambda start, stop: {
            str(r["platform"]): (int(r["posts"]), int(r["flagged"]))
            for r in count_posts(engine, ["platform"], since=start, until=stop)
        },
    )
    by_platform = _series(
        _binned(count_posts(engine, ["platform", "day"], **window), "platform", unit,
                [g.key[0] for g in platforms], "other platforms"),
        unit,
        review,
    )  # fmt: skip
    kept = [g.key[0] for g in languages[: MAX_PANELS - 1 if len(languages) > MAX_PANELS else None]]
    by_language = _series(
        _binned(count_posts(engine, ["language", "day"], **window), "language", unit, kept,
                f"{len(languages) - len(kept)} other languages"),
        unit,
        review,
    )  # fmt: skip
    origin = provenance(
        engine,
        project=cfg.project,
        config_hash=cfg.config_hash,
        since=since,
        until=until,
        estimate="reviewed" if review.available else "naive",
        min_cell=min_cell,
        review=review.summary or None,
    )
    return Report(
        project=cfg.project,
        first_day=first,
        last_day=last,
        origin=origin,
        min_cell=min_cell,
        total=total,
        platforms=platforms,
        languages=languages,
        topics=[g for g in topics if g.key[0] != NO_TOPIC],
        sources=sources,
        bin_unit=unit,
        by_platform=by_platform,
        by_language=by_language,
        targets=_latest_targets(engine),
        review=review,
    )


def write_report(
    engine: Engine,
    cfg: Project,
    directory: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
) -> ReportFiles:
    """Write index.html and its PNG charts into directory (created if missing)."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: is a file (give --output a folder name)")
    directory.mkdir(parents=True, exist_ok=True)
    report = gather(engine, cfg, since=since, until=until, min_cell=min_cell)
    for stale in CHART_FILES:  # a chart this data no longer allows must not linger
        (directory / stale).unlink(missing_ok=True)
    report.charts = draw_charts(report, directory)
    index = directory / "index.html"
    index.write_text(render_html(report), encoding="utf-8")
    return ReportFiles(index, sorted(report.charts.values()))
