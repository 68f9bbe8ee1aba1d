"""Crawl-run records, per-target status, and the per-target state incremental crawls resume from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from storage.engine import utc_naive, utc_now
from storage.models import CrawlRun, RunTarget, TargetState


def start_run(
    engine: Engine, *, project: str, config_hash: str, version: str, classifiers: dict[str, str]
) -> int:
    with engine.begin() as conn:
        run = conn.execute(
            CrawlRun.__table__.insert().returning(CrawlRun.id),  # type: ignore[attr-defined]
            {
                "project": project,
                "config_hash": config_hash,
                "vemeter_version": version,
                "classifiers": classifiers,
                "started_at": utc_now(),
                "status": "running",
                "posts_new": 0,
                "posts_seen": 0,
                "posts_flagged": 0,
                "requests": 0,
            },
        ).scalar_one()
    return int(run)


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    new: int,
    seen: int,
    flagged: int,
    requests: int,
    message: str | None = None,
    classifiers: dict[str, str] | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(
                finished_at=utc_now(),
                status=status,
                posts_new=new,
                posts_seen=seen,
                posts_flagged=flagged,
                requests=requests,
                message=message,
                **({"classifiers": classifiers} if classifiers else {}),
            )
        )


@dataclass(frozen=True)
class TargetOutcome:
    platform: str
    source: str
    target: str
    status: str
    reason: str | None
    posts_new: int
    posts_seen: int
    complete: bool
    newest_post_id: str | None
    newest_published_at: datetime | None
    observed: int = 0


def record_targets(engine: Engine, run_id: int, outcomes: Iterable[TargetOutcome]) -> None:
    """Store each target's status for this run, and move the resume point of complete ones."""
    outcomes = list(outcomes)
    with engine.begin() as conn:
        if outcomes:
            conn.execute(
                RunTarget.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {
                        "run_id": run_id,
                        "platform": o.platform,
                        "source": o.source,
                        "target": o.target,
                        "status": o.status,
                        "reason": o.reason,
                        "posts_new": o.posts_new,
                        "posts_seen": o.posts_seen,
                    }
                    for o in outcomes
                ],
            )
        for o in outcomes:
            if not (o.complete and o.status == "ok"):
                continue
            state_id = conn.execute(
                select(TargetState.id).where(
                    TargetState.platform == o.platform,
                    TargetState.source == o.source,
                    TargetState.target == o.target,
                )
            ).scalar_one_or_none()
            values: dict[str, object] = {
                "last_run_id": run_id,
                "last_posts": max(o.observed, o.posts_new + o.posts_seen),
            }
            if o.newest_post_id is not None:
                values["newest_post_id"] = o.newest_post_id
                values["newest_published_at"] = utc_naive(o.newest_published_at)
            if state_id is None:
                conn.execute(
                    TargetState.__table__.insert(),  # type: ignore[attr-defined]
                    {
                        "platform": o.platform,
                        "source": o.source,
                        "target": o.target,
                        "newest_post_id": None,
                        "newest_published_at": None,
                        **values,
                    },
                )
            else:
                conn.execute(update(TargetState).where(TargetState.id == state_id).values(**values))


@dataclass(frozen=True)
class Resume:
    """Where a target's last complete crawl stopped."""

    newest_post_id: str | None
    newest_published_at: datetime | None
    last_posts: int


def load_resume_points(engine: Engine, platform: str, source: str) -> dict[str, Resume]:
    with Session(engine) as session:
        rows = session.execute(
            select(TargetState).where(
                TargetState.platform == platform, TargetState.source == source
            )
        ).scalars()
        return {
            r.target: Resume(
                r.newest_post_id,
                r.newest_published_at.replace(tzinfo=UTC) if r.newest_published_at else None,
                r.last_posts,
            )
            for r in rows
        }


def run_targets(engine: Engine, run_id: int) -> list[RunTarget]:
    with Session(engine) as session:
        return list(session.execute(select(RunTarget).where(RunTarget.run_id == run_id)).scalars())


def get_run(engine: Engine, run_id: int) -> CrawlRun | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.execute(select(CrawlRun).where(CrawlRun.id == run_id)).scalar_one_or_none()
