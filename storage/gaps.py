"""The gap ledger: every scheduled period of a source that did not run, with its reason.

A gap is open until a run of its source ends well (ok or partial); that run covered it. Gaps
stay in the table after they close: a series over months shows where it was not measured on
time. Consecutive periods missed for the same reason make one entry, not one per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from storage.engine import utc_naive
from storage.models import ScheduleGap

DOWNTIME = "downtime"  # no `vemeter run` was running
LATE = "late"  # the service ran, but the period's run could not start within its tolerance
DISABLED = "disabled"  # the source was paused
FAILED = "failed"  # the period's run ran and failed
INTERRUPTED = "interrupted"  # the period's run was killed
STOPPED = "stopped"  # the service was stopped while the period's run ran
REASONS = (DOWNTIME, LATE, DISABLED, FAILED, INTERRUPTED, STOPPED)


@dataclass(frozen=True)
class Gap:
    id: int
    source: str
    first_slot: datetime
    last_slot: datetime
    periods: int
    reason: str
    detail: str | None
    recorded_at: datetime
    covered_by: int | None
    closed_at: datetime | None

    @property
    def open(self) -> bool:
        return self.closed_at is None


def _gap(row: ScheduleGap) -> Gap:
    return Gap(
        id=row.id,
        source=row.source,
        first_slot=utc_naive(row.first_slot),
        last_slot=utc_naive(row.last_slot),
        periods=row.periods,
        reason=row.reason,
        detail=row.detail,
        recorded_at=utc_naive(row.recorded_at),
        covered_by=row.covered_by,
        closed_at=utc_naive(row.closed_at),
    )


def record_gap(
    engine: Engine,
    source: str,
    *,
    first_slot: datetime,
    last_slot: datetime,
    periods: int,
    reason: str,
    detail: str | None,
    now: datetime,
    after: datetime | None = None,
) -> int:
    """Write (or extend) a gap; returns its id.

    `after` is the period just before `first_slot`: when the source's newest open gap has the
    same reason and ends there, it is extended instead of a new entry being written.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown gap reason {reason!r}")
    with engine.begin() as conn:
        if after is not None:
            latest = conn.execute(
                select(ScheduleGap.id, ScheduleGap.reason, ScheduleGap.last_slot)
                .where(ScheduleGap.source == source, ScheduleGap.closed_at.is_(None))
                .order_by(ScheduleGap.id.desc())
                .limit(1)
            ).first()
            if (
                latest is not None
                and latest.reason == reason
                and utc_naive(latest.last_slot) == utc_naive(after)
            ):
                conn.execute(
                    update(ScheduleGap)
                    .where(ScheduleGap.id == latest.id)
                    .values(
                        last_slot=utc_naive(last_slot),
                        periods=ScheduleGap.periods + periods,
                        detail=detail,
                    )
                )
                return int(latest.id)
        gap_id = conn.execute(
            ScheduleGap.__table__.insert().returning(ScheduleGap.id),  # type: ignore[attr-defined]
            {
                "source": source,
                "first_slot": utc_naive(first_slot),
                "last_slot": utc_naive(last_slot),
                "periods": periods,
                "reason": reason,
                "detail": detail,
                "recorded_at": utc_naive(now),
            },
        ).scalar_one()
    return int(gap_id)


def close_gaps(engine: Engine, source: str, scheduled_run: int, now: datetime) -> int:
    """Mark the source's open gaps covered by `scheduled_run`; returns how many."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ScheduleGap)
            .where(ScheduleGap.source == source, ScheduleGap.closed_at.is_(None))
            .values(covered_by=scheduled_run, closed_at=utc_naive(now))
        )
    return int(done.rowcount or 0)


def list_gaps(engine: Engine, source: str | None = None, *, only_open: bool = False) -> list[Gap]:
    """Gaps, oldest first; of one source, or only the open ones, if asked."""
    query = select(ScheduleGap).order_by(ScheduleGap.id)
    if source is not None:
        query = query.where(ScheduleGap.source == source)
    if only_open:
        query = query.where(ScheduleGap.closed_at.is_(None))
    with Session(engine) as session:
        return [_gap(r) for r in session.execute(query).scalars()]
