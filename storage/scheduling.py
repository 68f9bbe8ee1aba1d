"""What the scheduling service keeps: each source's schedule state and the runs it started.

`schedule_state` holds, per scheduled source, its cron expression and the latest period that
was accounted for (run, or written to the gap ledger), and whether the source is paused.
`scheduled_runs` holds every crawl the service started: the period it ran for, its process,
its crawl run and how it ended. Times here are the service's clock (naive UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from storage.engine import insert_for, utc_naive
from storage.models import ScheduledRun, ScheduleState
from storage.runs import process_alive, this_host

RUNNING = "running"
OK_STATUSES = ("ok", "partial")


@dataclass(frozen=True)
class SourceState:
    source: str
    cron: str
    accounted_until: datetime
    disabled_reason: str | None


def get_state(engine: Engine, source: str) -> SourceState | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(ScheduleState.__table__).where(ScheduleState.source == source)
        ).first()
    if row is None:
        return None
    m = row._mapping
    return SourceState(
        m["source"], m["cron"], utc_naive(m["accounted_until"]), m["disabled_reason"]
    )


def all_states(engine: Engine) -> dict[str, SourceState]:
    with engine.connect() as conn:
        rows = conn.execute(select(ScheduleState.__table__)).all()
    return {
        r.source: SourceState(r.source, r.cron, utc_naive(r.accounted_until), r.disabled_reason)
        for r in rows
    }


def put_state(
    engine: Engine, source: str, cron: str, accounted_until: datetime, now: datetime
) -> None:
    """Create or update a source's state (its pause, if any, is kept)."""
    values = {"cron": cron, "accounted_until": utc_naive(accounted_until), "updated_at": now}
    with engine.begin() as conn:
        conn.execute(
            insert_for(engine)(ScheduleState)
            .values(source=source, disabled_reason=None, **values)
            .on_conflict_do_update(index_elements=["source"], set_=values)
        )


def set_disabled(engine: Engine, source: str, reason: str | None, now: datetime) -> bool:
    """Pause (reason) or resume (None) a scheduled source; False if it has no state yet."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ScheduleState)
            .where(ScheduleState.source == source)
            .values(disabled_reason=reason, updated_at=utc_naive(now))
        )
    return bool(done.rowcount)


def start_scheduled_run(
    engine: Engine, source: str, *, kind: str, slot_at: datetime, now: datetime, pid: int
) -> int:
    with engine.begin() as conn:
        run = conn.execute(
            ScheduledRun.__table__.insert().returning(ScheduledRun.id),  # type: ignore[attr-defined]
            {
                "source": source,
                "kind": kind,
                "slot_at": utc_naive(slot_at),
                "started_at": utc_naive(now),
                "status": RUNNING,
                "host": this_host(),
                "pid": pid,
            },
        ).scalar_one()
    return int(run)


def set_child(engine: Engine, scheduled_run: int, child_pid: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ScheduledRun).where(ScheduledRun.id == scheduled_run).values(child_pid=child_pid)
        )


def finish_scheduled_run(
    engine: Engine,
    scheduled_run: int,
    *,
    status: str,
    now: datetime,
    exit_code: int | None,
    run_id: int | None,
    message: str | None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ScheduledRun)
            .where(ScheduledRun.id == scheduled_run)
            .values(
                status=status,
                finished_at=utc_naive(now),
                exit_code=exit_code,
                run_id=run_id,
                message=message,
            )
        )


def scheduled_runs(
    engine: Engine, source: str | None = None, *, limit: int | None = None
) -> list[ScheduledRun]:
    """Scheduled runs, oldest first (the newest `limit` if given)."""
    query = select(ScheduledRun).order_by(ScheduledRun.id.desc())
    if source is not None:
        query = query.where(ScheduledRun.source == source)
    if limit is not None:
        query = query.limit(limit)
    with Session(engine, expire_on_commit=False) as session:
        return list(reversed(session.execute(query).scalars().all()))


def orphaned_runs(engine: Engine) -> list[ScheduledRun]:
    """This host's scheduled runs still `running` whose service and crawl processes are gone."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(
            select(ScheduledRun).where(
                ScheduledRun.status == RUNNING, ScheduledRun.host == this_host()
            )
        ).scalars()
        return [
            r
            for r in rows
            if not (r.pid and process_alive(r.pid))
            and not (r.child_pid and process_alive(r.child_pid))
        ]
