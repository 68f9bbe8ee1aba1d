"""What source health keeps: each target's recent yield, its likely breaks, switched-off sources
and the alerts sent (the decisions are crawler.health's; the tables are migration 0012's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from storage.engine import utc_naive
from storage.models import AlertEvent, CrawlRun, RunTarget, SourceHealth, TargetProblem


@dataclass(frozen=True)
class TargetRun:
    """One crawl of one target, as its yield history sees it."""

    run_id: int
    started_at: datetime
    status: str
    reason: str | None
    posts_new: int
    observed: int
    pages: int
    signal: str | None


def target_history(
    engine: Engine, per_target: int, sources: Iterable[str] | None = None
) -> dict[tuple[str, str], list[TargetRun]]:
    """Each target's latest `per_target` crawls, oldest first.

    Only crawls recorded since migration 0012 count (`pages` set): imports and older rows
    carry no page count, so they neither make nor break a baseline.
    """
    ranked = (
        select(
            RunTarget.source,
            RunTarget.target,
            RunTarget.run_id,
            CrawlRun.started_at,
            RunTarget.status,
            RunTarget.reason,
            RunTarget.posts_new,
            RunTarget.observed,
            RunTarget.pages,
            RunTarget.signal,
            func.row_number()
            .over(
                partition_by=(RunTarget.source, RunTarget.target),
                order_by=RunTarget.run_id.desc(),
            )
            .label("n"),
        )
        .join(CrawlRun, CrawlRun.id == RunTarget.run_id)
        .where(RunTarget.pages.is_not(None))
    )
    if sources is not None:
        ranked = ranked.where(RunTarget.source.in_(list(sources)))
    sub = ranked.subquery()
    query = select(sub).where(sub.c.n <= per_target).order_by(sub.c.run_id)
    out: dict[tuple[str, str], list[TargetRun]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            out.setdefault((r.source, r.target), []).append(
                TargetRun(
                    run_id=int(r.run_id),
                    started_at=utc_naive(r.started_at),
                    status=r.status,
                    reason=r.reason,
                    posts_new=int(r.posts_new or 0),
                    observed=int(r.observed or 0),
                    pages=int(r.pages or 0),
                    signal=r.signal,
                )
            )
    return out


# --- likely breaks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    id: int
    source: str
    target: str
    problem: str
    kind: str
    detail: str | None
    first_run: int
    last_run: int
    detected_at: datetime


def open_problems(engine: Engine) -> dict[tuple[str, str], Problem]:
    """Each target's open problem (one at most)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(TargetProblem.__table__)
            .where(TargetProblem.resolved_at.is_(None))
            .order_by(TargetProblem.id)
        ).all()
    return {(r.source, r.target): _problem(r) for r in rows}


def _problem(r: Any) -> Problem:
    return Problem(
        int(r.id), r.source, r.target, r.problem, r.kind, r.detail,
        int(r.first_run), int(r.last_run), utc_naive(r.detected_at),
    )  # fmt: skip


def open_problem(
    engine: Engine, source: str, target: str, *, problem: str, kind: str, detail: str | None,
    run_id: int, now: datetime,
) -> int:  # fmt: skip
    with engine.begin() as conn:
        new_id = conn.execute(
            TargetProblem.__table__.insert().returning(TargetProblem.id),  # type: ignore[attr-defined]
            {
                "source": source, "target": target, "problem": problem, "kind": kind,
                "detail": detail, "first_run": run_id, "last_run": run_id,
                "detected_at": utc_naive(now),
            },
        ).scalar_one()  # fmt: skip
    return int(new_id)


def extend_problem(engine: Engine, problem_id: int, run_id: int, detail: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(TargetProblem)
            .where(TargetProblem.id == problem_id)
            .values(last_run=run_id, detail=detail)
        )


def resolve_problem(engine: Engine, problem_id: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(TargetProblem)
            .where(TargetProblem.id == problem_id)
            .values(resolved_at=utc_naive(now))
        )


# --- sources switched off ----------------------------------------------------------------------


@dataclass(frozen=True)
class Disabled:
    source: str
    reason: str
    since: datetime
    run_id: int | None
    credentials: str | None


def disabled_sources(engine: Engine) -> dict[str, Disabled]:
    with engine.connect() as conn:
        rows = conn.execute(select(SourceHealth.__table__)).all()
    return {
        r.source: Disabled(
            r.source, r.disabled_reason, utc_naive(r.disabled_at), r.run_id, r.credentials
        )
        for r in rows
    }


def disable_source(
    engine: Engine, source: str, reason: str, *, run_id: int | None, credentials: str | None,
    now: datetime,
) -> bool:  # fmt: skip
    """Switch a source off; False when it already was (its first reason is kept)."""
    try:
        with engine.begin() as conn:
            conn.execute(
                SourceHealth.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "source": source, "disabled_reason": reason, "disabled_at": utc_naive(now),
                    "run_id": run_id, "credentials": credentials,
                },
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def enable_source(engine: Engine, source: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(delete(SourceHealth).where(SourceHealth.source == source))
    return bool(done.rowcount)


# --- alerts, once each ---------------------------------------------------------------------------


def claim_alert(
    engine: Engine, key: str, event: str, source: str | None, payload: dict[str, Any],
    now: datetime,
) -> bool:  # fmt: skip
    """Record an alert by its key; False when that key was alerted before (by any process)."""
    try:
        with engine.begin() as conn:
            conn.execute(
                AlertEvent.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "key": key[:255], "event": event, "source": source, "payload": payload,
                    "created_at": utc_naive(now),
                },
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def mark_delivered(engine: Engine, key: str, how: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(AlertEvent).where(AlertEvent.key == key[:255]).values(delivered=how[:255])
        )


def list_alerts(engine: Engine) -> list[AlertEvent]:
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        return list(session.execute(select(AlertEvent).order_by(AlertEvent.id)).scalars())
