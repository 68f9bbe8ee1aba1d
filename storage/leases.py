"""Leases: one holder at a time per source, in the database, kept alive by a heartbeat.

A lease is a row of `source_leases`. Taking it is a compare-and-swap UPDATE (free, or held by
a holder whose heartbeat is stale and, on this host, whose processes are gone), so it works
the same on SQLite and PostgreSQL, across processes and machines, and survives a killed
holder: nothing needs releasing by hand. Releasing clears the holder.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from storage.engine import insert_for, utc_naive, utc_now
from storage.models import SourceLease
from storage.runs import process_alive, this_host


def new_holder() -> str:
    """A holder id unique to this process and call: host, pid and a nonce."""
    return f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseInfo:
    source: str
    holder: str | None
    host: str | None
    pid: int | None
    child_pid: int | None
    acquired_at: datetime | None
    heartbeat_at: datetime | None


def _held_elsewhere_alive(row: LeaseInfo, stale: datetime) -> bool:
    """Whether the current holder must be presumed alive (so the lease is not free)."""
    if row.holder is None:
        return False
    if row.host == this_host():
        # Same host: the processes decide, whatever the heartbeat says (a service killed with
        # -9 leaves its crawl running; that crawl still owns the source).
        if row.child_pid and process_alive(row.child_pid):
            return True
        return bool(row.pid) and process_alive(int(row.pid or 0), utc_naive(row.acquired_at))
    return row.heartbeat_at is None or utc_naive(row.heartbeat_at) >= stale


def acquire(engine: Engine, source: str, holder: str, *, stale_after: float) -> bool:
    """Take the lease of `source` for `holder`; False if another live holder has it."""
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(
            insert_for(engine)(SourceLease)
            .values(source=source, holder=None)
            .on_conflict_do_nothing(index_elements=["source"])
        )
    row = lease(engine, source)
    assert row is not None
    if row.holder == holder:
        return True
    if _held_elsewhere_alive(row, now - timedelta(seconds=stale_after)):
        return False
    cond = [SourceLease.source == source]
    cond.append(
        SourceLease.holder.is_(None) if row.holder is None else SourceLease.holder == row.holder
    )
    if row.heartbeat_at is None:
        cond.append(SourceLease.heartbeat_at.is_(None))
    else:
        cond.append(SourceLease.heartbeat_at == row.heartbeat_at)
    with engine.begin() as conn:
        done = conn.execute(
            update(SourceLease)
            .where(*cond)
            .values(
                holder=holder,
                host=this_host(),
                pid=os.getpid(),
                child_pid=None,
                acquired_at=now,
                heartbeat_at=now,
            )
        )
    return bool(done.rowcount)


def beat(engine: Engine, source: str, holder: str, *, child_pid: int | None = None) -> bool:
    """Refresh the holder's heartbeat (and record its crawl's pid); False if it lost the lease."""
    values: dict[str, object] = {"heartbeat_at": utc_now()}
    if child_pid is not None:
        values["child_pid"] = child_pid
    with engine.begin() as conn:
        done = conn.execute(
            update(SourceLease)
            .where(SourceLease.source == source, SourceLease.holder == holder)
            .values(**values)
        )
    return bool(done.rowcount)


def release(engine: Engine, source: str, holder: str) -> None:
    """Give the lease up (a no-op if `holder` no longer has it)."""
    with engine.begin() as conn:
        conn.execute(
            update(SourceLease)
            .where(SourceLease.source == source, SourceLease.holder == holder)
            .values(holder=None, child_pid=None)
        )


def lease(engine: Engine, source: str) -> LeaseInfo | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(SourceLease.__table__).where(SourceLease.source == source)
        ).first()
    if row is None:
        return None
    m = row._mapping
    return LeaseInfo(
        source=m["source"],
        holder=m["holder"],
        host=m["host"],
        pid=m["pid"],
        child_pid=m["child_pid"],
        acquired_at=m["acquired_at"],
        heartbeat_at=m["heartbeat_at"],
    )
