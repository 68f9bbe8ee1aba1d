"""Where a figure comes from: config, classifier versions, crawl coverage and review window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select

from storage.engine import utc_naive
from storage.gaps import list_gaps
from storage.models import CrawlRun, RunTarget

__all__ = [
    "Coverage", "Provenance", "crawl_coverage", "latest_targets", "provenance", "schedule_gaps",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Coverage:
    """Each target's status in the latest run that reached it, counted, with the problem targets."""

    targets: int
    by_status: dict[str, int]
    # "platform/source/target: status (reason)" for every target whose latest status is not ok.
    problems: list[str]
    # Scheduled periods that did not run on time (the gap ledger, storage.gaps) in the window:
    # source, reason, first and last period, periods, and "open" or "covered by run N".
    gaps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Everything needed to reproduce or judge an exported figure."""

    project: str
    config_hash: str
    vemeter_version: str
    exported_at: str
    since: str | None
    until: str | None
    estimate: str
    # name@version of every classifier component used by the crawl runs, per component.
    classifiers: dict[str, list[str]]
    config_hashes_of_runs: list[str]
    runs: int
    coverage: Coverage
    min_cell: int
    review: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """Short human-readable lines, e.g. under a table or at the top of a CSV file."""
        classifiers = "; ".join(f"{k}={', '.join(v)}" for k, v in self.classifiers.items())
        window = f"{self.since or 'start'} .. {self.until or 'now'}"
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.coverage.by_status.items()))
        lines = [
            f"project {self.project}, config {self.config_hash}, vemeter {self.vemeter_version}, "
            f"exported {self.exported_at}",
            f"window {window}, estimate {self.estimate}"
            + (f", cells below {self.min_cell} shown as <{self.min_cell}" if self.min_cell else ""),
            f"classifiers: {classifiers or 'none recorded'}",
            f"coverage: {self.coverage.targets} targets ({statuses or 'no crawl runs'})",
        ]
        if self.coverage.gaps:
            missed = sum(int(g["periods"]) for g in self.coverage.gaps)
            lines.append(
                f"gaps: {missed} scheduled period(s) not run on time: "
                + "; ".join(
                    f"{g['source']} {g['reason']} {g['first']} .. {g['last']} "
                    f"({g['periods']}, {g['status']})"
                    for g in self.coverage.gaps
                )
            )
        if self.review:
            lines.append(
                "review: " + ", ".join(f"{key} {value}" for key, value in self.review.items())
            )
        return lines


def latest_targets(engine: Engine) -> Sequence[Row[str, str, str, str, str | None, int]]:
    """Each target's run_targets row from the newest run that reached it, in target order."""
    latest = (
        select(
            RunTarget.platform,
            RunTarget.source,
            RunTarget.target,
            func.max(RunTarget.run_id).label("run_id"),
        )
        .group_by(RunTarget.platform, RunTarget.source, RunTarget.target)
        .subquery()
    )
    stmt = (
        select(
            RunTarget.platform,
            RunTarget.source,
            RunTarget.target,
            RunTarget.status,
            RunTarget.reason,
            RunTarget.run_id,
        )
        .join(
            latest,
            (RunTarget.platform == latest.c.platform)
            & (RunTarget.source == latest.c.source)
            & (RunTarget.target == latest.c.target)
            & (RunTarget.run_id == latest.c.run_id),
        )
        .order_by(RunTarget.platform, RunTarget.source, RunTarget.target)
    )
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def schedule_gaps(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """The gap ledger's entries that touch the window, oldest first."""
    start, stop = utc_naive(since), utc_naive(until)
    return [
        {
            "source": g.source,
            "reason": g.reason,
            "first": g.first_slot.isoformat() + "Z",
            "last": g.last_slot.isoformat() + "Z",
            "periods": g.periods,
            "status": "open" if g.open else f"covered by run {g.covered_by}",
        }
        for g in list_gaps(engine)
        if (start is None or g.last_slot >= start) and (stop is None or g.first_slot < stop)
    ]


def crawl_coverage(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> Coverage:
    """The latest status of every target (run_targets of the newest run that reached it), and
    the schedule's gaps in the window."""
    rows = latest_targets(engine)
    statuses = Counter(row.status for row in rows)
    problems = [
        f"{row.platform}/{row.source}/{row.target}: {row.status}"
        + (f" ({row.reason})" if row.reason else "")
        for row in rows
        if row.status != "ok"
    ]
    return Coverage(
        targets=len(rows), by_status=dict(statuses), problems=problems,
        gaps=schedule_gaps(engine, since, until),
    )  # fmt: skip


def provenance(
    engine: Engine,
    *,
    project: str,
    config_hash: str,
    since: datetime | None,
    until: datetime | None,
    estimate: str,
    min_cell: int = 0,
    review: dict[str, Any] | None = None,
) -> Provenance:
    """Collect the provenance of an export over the crawl runs stored in the database."""
    from crawler.version import vemeter_version

    with engine.connect() as conn:
        runs = conn.execute(select(CrawlRun.config_hash, CrawlRun.classifiers)).all()
    components: dict[str, set[str]] = {}
    for run in runs:
        for component, version in (run.classifiers or {}).items():
            components.setdefault(component, set()).add(str(version))
    return Provenance(
        project=project,
        config_hash=config_hash,
        vemeter_version=vemeter_version(),
        exported_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        since=_iso(since),
        until=_iso(until),
        estimate=estimate,
        classifiers={k: sorted(v) for k, v in sorted(components.items())},
        config_hashes_of_runs=sorted({run.config_hash for run in runs}),
        runs=len(runs),
        coverage=crawl_coverage(engine, since, until),
        min_cell=min_cell,
        review=review,
    )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc_naive(value).isoformat() + "Z"
