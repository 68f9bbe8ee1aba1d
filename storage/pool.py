"""What the PostgreSQL worker pool keeps beside procrastinate's queue.

- `ensure_queue_schema`: procrastinate's own tables and functions, applied once per database
  schema (under the migration advisory lock, so workers starting together take turns), with
  the procrastinate version recorded in `settings`;
- `pool_attempts`: each attempt of a job at its target (which host, process and worker, when,
  how it ended), so a killed worker's job can be followed to the worker that finished it;
- the states of a scheduled run's jobs, read from procrastinate's `procrastinate_jobs`;
- the scheduler lock: a session-level advisory lock that one worker of the pool holds while it
  defers periodic jobs and retries stalled ones (PostgreSQL drops it when that worker dies).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, select, text, update

from storage.engine import utc_naive, utc_now
from storage.models import PoolAttempt, ScheduledRun

QUEUE_SCHEMA_SETTING = "pool.procrastinate_schema"
RUNNING = "running"
FINAL_OK = ("succeeded",)
FINAL_BAD = ("failed", "cancelled", "aborted")


def queue_schema_present(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def ensure_queue_schema(engine: Engine, schema_sql: str, version: str) -> bool:
    """Apply procrastinate's schema unless this database schema has it; True if applied now.

    Holds the migration advisory lock of this schema (as `vemeter db upgrade` does), so any
    number of workers may start at once: the first applies it, the others find it there.
    """
    with engine.begin() as conn:
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('vemeter-migrate:' || current_schema()))")
        )
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(schema_sql)  # no parameters: the SQL is taken as written
        _put_setting(conn, QUEUE_SCHEMA_SETTING, {"version": version, "applied_at": str(utc_now())})
        return True


def _put_setting(conn: Connection, key: str, value: dict[str, str]) -> None:
    from storage.models import Setting

    values = {"value": json.dumps(value), "updated_at": utc_now()}
    if conn.execute(select(Setting.key).where(Setting.key == key)).first():
        conn.execute(update(Setting).where(Setting.key == key).values(**values))
    else:
        conn.execute(insert(Setting).values(key=key, **values))


def queue_schema_version(engine: Engine) -> str | None:
    """The procrastinate version whose schema this database schema holds (as recorded)."""
    from storage.models import Setting

    with engine.connect() as conn:
        value = conn.execute(
            select(Setting.value).where(Setting.key == QUEUE_SCHEMA_SETTING)
        ).scalar()
    try:
        parsed = json.loads(value) if value else None
    except ValueError:
        return None
    return str(parsed.get("version")) if isinstance(parsed, dict) else None


# --- attempts ----------------------------------------------------------------------------


def start_attempt(
    engine: Engine,
    *,
    job_id: int,
    scheduled_run: int | None,
    source: str,
    target: str,
    attempt: int,
    host: str,
    pid: int,
    worker_id: int | None,
) -> int:
    with engine.begin() as conn:
        new = conn.execute(
            PoolAttempt.__table__.insert().returning(PoolAttempt.id),  # type: ignore[attr-defined]
            {
                "job_id": job_id,
                "scheduled_run": scheduled_run,
                "source": source,
                "target": target,
                "attempt": attempt,
                "host": host,
                "pid": pid,
                "worker_id": worker_id,
                "started_at": utc_now(),
                "status": RUNNING,
            },
        ).scalar_one()
    return int(new)


def set_attempt_child(engine: Engine, attempt_id: int, child_pid: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(PoolAttempt).where(PoolAttempt.id == attempt_id).values(child_pid=child_pid)
        )


def finish_attempt(
    engine: Engine, attempt_id: int, *, status: str, exit_code: int | None, message: str | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(PoolAttempt)
            .where(PoolAttempt.id == attempt_id)
            .values(
                status=status,
                exit_code=exit_code,
                message=(message or "")[:2000] or None,
                finished_at=utc_now(),
            )
        )


def mark_stalled(engine: Engine, job_id: int, message: str) -> int:
    """The running attempts of a job whose worker stopped beating: `stalled`."""
    with engine.begin() as conn:
        done = conn.execute(
            update(PoolAttempt)
            .where(PoolAttempt.job_id == job_id, PoolAttempt.status == RUNNING)
            .values(status="stalled", message=message, finished_at=utc_now())
        )
    return int(done.rowcount or 0)


def running_here(
    engine: Engine, task_name: str, host: str
) -> list[tuple[int, int, dict[str, Any], int, datetime]]:
    """Jobs `doing` whose running attempt is on `host`: (job, attempts, args, worker pid, start)."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT j.id, j.attempts, j.args, a.pid, a.started_at "
                "FROM procrastinate_jobs j JOIN pool_attempts a ON a.job_id = j.id "
                "WHERE j.status = 'doing' AND j.task_name = :task AND a.status = 'running' "
                "AND a.host = :host AND a.pid IS NOT NULL"
            ),
            {"task": task_name, "host": host},
        ).all()
    return [
        (int(j), int(n), dict(args or {}), int(pid), utc_naive(started))
        for j, n, args, pid, started in found
    ]


def attempts(engine: Engine, scheduled_run: int | None = None) -> list[PoolAttempt]:
    """Attempts, oldest first (of one scheduled run if given)."""
    from sqlalchemy.orm import Session

    query = select(PoolAttempt).order_by(PoolAttempt.id)
    if scheduled_run is not None:
        query = query.where(PoolAttempt.scheduled_run == scheduled_run)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.execute(query).scalars().all())


# --- scheduled runs and their jobs -------------------------------------------------------


@dataclass(frozen=True)
class RunJobs:
    """How the jobs of one scheduled run stand."""

    total: int
    pending: int  # todo or doing
    succeeded: int
    failed: int
    partial: int  # succeeded, but the crawl of the target ended partial

    @property
    def settled(self) -> bool:
        return self.total > 0 and self.pending == 0


def run_jobs(engine: Engine, scheduled_run: int, task_name: str) -> RunJobs:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status::text, count(*) FROM procrastinate_jobs "
                "WHERE task_name = :task AND args @> CAST(:match AS jsonb) GROUP BY status"
            ),
            {"task": task_name, "match": json.dumps({"scheduled_run": scheduled_run})},
        ).all()
        partial = conn.execute(
            select(func.count(func.distinct(PoolAttempt.job_id))).where(
                PoolAttempt.scheduled_run == scheduled_run, PoolAttempt.status == "partial"
            )
        ).scalar_one()
    counts = {str(s): int(n) for s, n in rows}
    return RunJobs(
        total=sum(counts.values()),
        pending=counts.get("todo", 0) + counts.get("doing", 0),
        succeeded=sum(counts.get(s, 0) for s in FINAL_OK),
        failed=sum(counts.get(s, 0) for s in FINAL_BAD),
        partial=int(partial),
    )


def running_scheduled_run(engine: Engine, source: str) -> ScheduledRun | None:
    """The source's scheduled run still `running` (the pool keeps at most one per source)."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        return (
            session.execute(
                select(ScheduledRun)
                .where(ScheduledRun.source == source, ScheduledRun.status == RUNNING)
                .order_by(ScheduledRun.id.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )


def count_scheduled_runs(engine: Engine) -> tuple[int, int]:
    """(scheduled runs in the database, of which still running)."""
    with engine.connect() as conn:
        total, running = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((ScheduledRun.status == RUNNING, 1), else_=0)), 0),
            ).select_from(ScheduledRun)
        ).one()
    return int(total), int(running)


# --- the scheduler lock ------------------------------------------------------------------

SCHEDULER_LOCK = "hashtext('vemeter-pool-scheduler:' || current_schema())"


class SchedulerLock:
    """The pool's scheduler lock: one worker at a time defers periodic jobs and retries stalled
    ones. A session-level advisory lock on a connection of its own, kept once taken; PostgreSQL
    releases it when its holder's connection ends (a worker killed with -9 included)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self.held = False

    def take(self) -> bool:
        """Hold the lock (True), or find another worker holding it (False); never waits."""
        try:
            if self._conn is None:
                self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self.held = False
            if not self.held:
                self.held = bool(
                    self._conn.execute(
                        text(f"SELECT pg_try_advisory_lock({SCHEDULER_LOCK})")
                    ).scalar()
                )
            else:
                self._conn.execute(text("SELECT 1"))  # still connected, so still held
        except Exception:
            self.release()
            raise
        return self.held

    def release(self) -> None:
        conn, held = self._conn, self.held
        self._conn, self.held = None, False
        if conn is None:
            return
        try:
            if held:
                with contextlib.suppress(Exception):  # a broken connection: PostgreSQL drops it
                    conn.execute(text(f"SELECT pg_advisory_unlock({SCHEDULER_LOCK})"))
            conn.invalidate()  # closes the session itself (not back to the pool): the lock goes
        finally:
            conn.close()


def when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ", timespec="seconds")
