"""`vemeter report`: gather counts, estimates, coverage and provenance into an offline HTML folder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from analysis import charts
from analysis.counts import COUNT_LAYOUT, TIME_UNITS, count_groups
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
from analysis.report_review import ALL, ReviewSection, review_section
from analysis.suppression import (
    Exposed,
    Hidden,
    exposed_note,
    protect,
    protect_lattice,
    ranked,
)
from crawler.errors import InputError
from storage.models import DailyCount
from storage.stats import NO_TOPIC, count_posts
from storage.topics import ANY_TOPIC

__all__ = ["DEFAULT_MIN_CELL", "Report", "ReportFiles", "gather", "write_report"]


def _groups(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[Group]:
    return [Group(tuple(str(r[k]) for k in keys), r["posts"], r["flagged"]) for r in rows]


def _bin_unit(first: date | None, last: date | None) -> str:
    """Days for up to a month, then weeks, then months: enough posts per bin to read a rate."""
    if first is None or last is None or (last - first).days <= 31:
        return "day"
    return "week" if (last - first).days <= 730 else "month"


def _bin_end(start: date, unit: str) -> date:
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def _bin_date(value: str, unit: str) -> date:
    return date.fromisoformat(f"{value}-01" if unit == "month" else value)


class _Tables:
    """Count tables of the report's window, published with the same suppression throughout.

    Every table is protected with the coarser tables it adds up to (protect_lattice), so the
    platform table, the platform-by-week table behind the chart and the total agree on what
    is hidden.
    """

    def __init__(
        self, engine: Engine, min_cell: int, since: datetime | None, until: datetime | None
    ) -> None:
        self.engine, self.min_cell = engine, min_cell
        self.window: dict[str, Any] = {"since": since, "until": until}
        self.true: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.shown: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.exposed: list[Exposed] = []

    def rows(self, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        if keys not in self.true:
            self.true[keys] = count_groups(self.engine, keys, **self.window)
        return self.true[keys]

    def published(self, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        if keys not in self.shown:
            if "topic" in keys or self.min_cell <= 1:
                self.shown[keys] = protect(
                    self.rows(keys), keys, COUNT_LAYOUT, self.min_cell
                )  # counts do not add up along topic: the primary rule alone
            else:
                lattice = protect_lattice(
                    keys, COUNT_LAYOUT, self.min_cell, self.rows, self.exposed
                )
                for subset, rows in lattice.items():
                    self.shown.setdefault(subset, rows)
        return self.shown[keys]


def _series(
    tables: _Tables, key: str, unit: str, names: list[str], review: ReviewSection
) -> tuple[list[charts.Series], list[str]]:
    """Per-bin flag rates (Wilson intervals) of each name whose bin counts are published, plus
    model-based reviewed figures (§8) for bins inside the review sample's period.

    A bin with a hidden count is not plotted: its rate and interval would give the counts back.
    Returns the series and the names left out because none of their bins is published.
    """
    per: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    hidden: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for r in tables.published((key, unit)):
        start = _bin_date(str(r[unit]), unit)
        if isinstance(r["posts"], Hidden) or isinstance(r["flagged"], Hidden):
            hidden[str(r[key])].append((start, _bin_end(start, unit)))
        else:
            per[str(r[key])][start] = (int(r["posts"]), int(r["flagged"]))
    model: dict[str, Estimate] = {}
    if review.available:
        lo = review.since.date() if review.since else date.min
        hi = review.until.date() if review.until else date.max
        model = review.model_based([
            (f"{name}|{start}", posts, flagged)
            for name, bins in per.items()
            for start, (posts, flagged) in bins.items()
            if lo <= start and _bin_end(start, unit) <= hi
        ])  # fmt: skip
    totals = {g.key[0]: g for g in _groups(tables.published((key,)), [key])}
    result, left_out = [], []
    for name in names:
        bins = per.get(name, {})
        if not bins:
            left_out.append(name)
            continue
        points: list[charts.Point] = []
        reviewed: list[charts.Point] = []
        previous: date | None = None
        for start, (posts, flagged) in sorted(bins.items()):
            if previous is not None and _bin_end(previous, unit) != start:
                # a bin in between is not plotted: break the line and the band there
                points.append(charts.Point.gap(_bin_end(previous, unit)))
                reviewed.append(charts.Point.gap(_bin_end(previous, unit)))
            previous = start
            low, high = wilson_interval(flagged, posts)
            points.append(charts.Point(start, flagged / posts, low, high))
            if (e := model.get(f"{name}|{start}")) is not None:
                reviewed.append(charts.Point(start, e.prevalence, e.ci_low, e.ci_high))
        while reviewed and reviewed[-1].is_gap:
            reviewed.pop()
        if all(p.is_gap for p in reviewed):
            reviewed = []
        label = f"{name}: {_posts_label(totals[name].posts)}"
        result.append(charts.Series(label, points, reviewed, hidden=hidden.get(name, [])))
    return result, left_out


def _posts_label(posts: int | Hidden) -> str:
    if isinstance(posts, Hidden):
        return f"{posts} posts" if posts.below else "posts hidden"
    return f"{posts:,} posts"


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
    unit: str | None = None,
) -> Report:
    """Read everything the report shows from the counts, run records and review tables.

    unit: day, week or month for the time charts (default: by the length of the period).
    Every count is published with small-cell suppression (analysis.suppression).
    """
    _whole_days(since, until)
    first, last = _day_range(engine, since, until)
    unit = unit or _bin_unit(first, last)
    if unit not in TIME_UNITS:
        raise InputError(f"{unit!r} is not a time unit (use day, week or month)")
    tables = _Tables(engine, min_cell, since, until)
    total = _groups(tables.published(()), [])[0]
    platforms = _groups(tables.published(("platform",)), ["platform"])
    languages = _groups(
        ranked(tables.published(("language",)), "posts", lambda r: r["language"]), ["language"]
    )
    topics = _groups(tables.published(("topic",)), ["topic"])
    sources = _groups(
        ranked(
            tables.published(("platform", "source", "target")),
            "flagged",
            lambda r: (r["platform"], r["source"], r["target"]),
        ),
        ["platform", "source", "target"],
    )
    review = review_section(
        engine,
        since=since,
        until=until,
        platform_counts=lambda start, stop: {
            str(r["platform"]): (int(r["posts"]), int(r["flagged"]))
            for r in count_posts(engine, ["platform"], since=start, until=stop)
        },
    )
    by_platform, platforms_out = _series(
        tables, "platform", unit, [g.key[0] for g in platforms], review
    )
    charted = [g.key[0] for g in languages if not isinstance(g.posts, Hidden)][:MAX_PANELS]
    by_language, languages_out = _series(tables, "language", unit, charted, review)
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
        estimates=_published_estimates(review, total, platforms),
        unplotted={"platform": platforms_out, "language": languages_out},
        warnings=[exposed_note(tables.exposed, min_cell)] if tables.exposed else [],
    )


def _published_estimates(
    review: ReviewSection, total: Group, platforms: Sequence[Group]
) -> dict[str, Estimate]:
    """The reviewed estimates that may be shown: none for a platform with a hidden count."""
    shown = {ALL: total, **{g.key[0]: g for g in platforms}}
    return {
        name: e for name, e in review.estimates.items() if name in shown and not shown[name].hidden
    }


def write_report(
    engine: Engine,
    cfg: Project,
    directory: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    unit: str | None = None,
) -> ReportFiles:
    """Write index.html, one file with its charts embedded, into directory (created if missing)."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: is a file (give --output a folder name)")
    directory.mkdir(parents=True, exist_ok=True)
    report = gather(engine, cfg, since=since, until=until, min_cell=min_cell, unit=unit)
    for stale in CHART_FILES:  # charts of older versions, written beside the page
        (directory / stale).unlink(missing_ok=True)
    report.charts = draw_charts(report)
    index = directory / "index.html"
    index.write_text(render_html(report), encoding="utf-8")
    return ReportFiles(index, sorted(report.charts))
