"""Crawl-run records, per-target status, and the per-target state incremental crawls resume from.

A run records the process (pid and host) that runs it, and beats: a thread of that process
updates `heartbeat_at` every few seconds until the run finishes. A run still `running` whose
process is gone was killed: the next run started on that host, or `vemeter status`, marks it
`interrupted`, with the posts it had stored as its counts. On other hosts, whose processes
cannot be checked from here, a heartbeat older than `stale_after()` tells the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.orm import Session

from storage.engine import utc_naive, utc_now
from storage.models import CrawlRun, Post, RunTarget, TargetState

log = logging.getLogger(__name__)

RUNNING = "running"
INTERRUPTED = "interrupted"
# Seconds between two heartbeats of a running run (tests set it lower).
HEARTBEAT_ENV = "VEMETER_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT = 30.0
# A heartbeat this many intervals old is stale: a write may wait up to 30 s on a busy SQLite
# file, so a live process is never far behind by more than two.
STALE_INTERVALS = 6
# A process that started this long after its run was recorded is another one with the same pid.
_PID_REUSE_SLACK = 2.0


def this_host() -> str:
    """This machine as runs record it: the host name, and on Linux the PID namespace (two
    containers sharing a host name see different processes under the same pid)."""
    host = socket.gethostname()[:200] or "localhost"
    with contextlib.suppress(OSError):
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
        return f"{host}#{namespace.removeprefix('pid:[').removesuffix(']')}"
    return host


def _boot_time() -> float | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/stat", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def process_alive(pid: int, since: datetime | None = None) -> bool:
    """Whether process `pid` of this host runs, and (where /proc tells) started before `since`
    (naive UTC) so that it is the same process and not a later one that reuses the pid."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return False
    if not sys.platform.startswith("linux"):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no /proc to ask: the pid exists
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    boot = _boot_time()
    if since is None or boot is None:
        return True
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    recorded = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return started <= recorded.timestamp() + _PID_REUSE_SLACK


def heartbeat_interval() -> float:
    """Seconds between heartbeats: $VEMETER_HEARTBEAT_SECONDS, else 30."""
    try:
        value = float(os.environ.get(HEARTBEAT_ENV, "") or DEFAULT_HEARTBEAT)
    except ValueError:
        value = DEFAULT_HEARTBEAT
    return max(value, 0.05)


def stale_after() -> float:
    """Seconds after which a heartbeat is stale: its process is taken to be gone."""
    return STALE_INTERVALS * heartbeat_interval()


class _Heartbeats:
    """One daemon thread per process that keeps the heartbeat of this process's running runs.

    A run leaves when it finishes (finish_run), or when it is found no longer running (another
    process marked it interrupted). A failed write is retried at the next beat: a database that
    is briefly away must not end a crawl.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, Engine] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, engine: Engine, run_id: int) -> None:
        with self._lock:
            self._runs[run_id] = engine
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # a forked child has no thread of its parent
                self._thread = threading.Thread(
                    target=self._loop, name="vemeter-heartbeat", daemon=True
                )
                self._thread.start()
            else:
                self._wake.set()  # re-read the interval now (a test may have changed it)

    def remove(self, run_id: int) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._runs)

    def _loop(self) -> None:
        while True:
            if self._wake.wait(heartbeat_interval()):
                self._wake.clear()
            with self._lock:
                runs = list(self._runs.items())
            for run_id, engine in runs:
                try:
                    with engine.begin() as conn:
                        done = conn.execute(
                            update(CrawlRun)
                            .where(CrawlRun.id == run_id, CrawlRun.status == RUNNING)
                            .values(heartbeat_at=utc_now())
                        )
                    if not done.rowcount:
                        self.remove(run_id)
                except Exception as exc:  # the next beat tries again
                    log.debug("heartbeat of run %d failed: %s", run_id, exc)


_HEARTBEATS = _Heartbeats()


def beating_runs() -> list[int]:
    """The runs this process keeps the heartbeat of (for tests and diagnostics)."""
    return _HEARTBEATS.running()


def mark_interrupted(engine: Engine) -> list[int]:
    """Mark running runs whose process is gone as interrupted; returns their ids.

    On this host a run's process is checked by its pid; a run of another host is gone when its
    heartbeat is older than `stale_after()`. Their counts become what they stored: posts_new
    and posts_flagged from the posts that carry their run id (what they had seen already, and
    their requests, died with them). Runs recorded before pids were (migration 0007), and runs
    of other hosts recorded before heartbeats (0008), are left as they are.
    """
    host = this_host()
    stale = utc_now() - timedelta(seconds=stale_after())
    with engine.connect() as conn:
        running = conn.execute(
            select(
                CrawlRun.id, CrawlRun.pid, CrawlRun.started_at, CrawlRun.host,
                CrawlRun.heartbeat_at,
            ).where(CrawlRun.status == RUNNING, CrawlRun.pid.is_not(None))
        ).all()  # fmt: skip
    gone: list[tuple[int, int, str, datetime | None]] = []
    for i, pid, started, run_host, beat in running:
        if pid is None:
            continue
        if run_host == host:
            if not process_alive(int(pid), started):
                gone.append((int(i), int(pid), host, None))
        elif beat is not None and utc_naive(beat) < stale:
            gone.append((int(i), int(pid), str(run_host or "?"), utc_naive(beat)))
    now = utc_now()
    marked = []
    for run_id, pid, run_host, beat in gone:
        why = (
            f"its process ({pid} on {run_host.split('#')[0]}) was gone at "
            f"{now:%Y-%m-%d %H:%M:%S} UTC"
            if beat is None
            else f"its heartbeat ({pid} on {run_host.split('#')[0]}) stopped at "
            f"{beat:%Y-%m-%d %H:%M:%S} UTC"
        )
        with engine.begin() as conn:
            new, flagged = conn.execute(
                select(func.count(), func.coalesce(func.sum(case((Post.flagged, 1), else_=0)), 0))
                .select_from(Post)
                .where(Post.run_id == run_id)
            ).one()
            done = conn.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id, CrawlRun.status == RUNNING)
                .values(
                    status=INTERRUPTED,
                    posts_new=int(new),
                    posts_flagged=int(flagged),
                    message=(
                        f"interrupted: {why}; {int(new):,} posts stored before it "
                        "stopped (run it again for the rest)"
                    ),
                )
            )
            if done.rowcount:  # not marked meanwhile by another process
                marked.append(run_id)
    return marked


def start_run(
    engine: Engine,
    *,
    project: str,
    config_hash: str,
    version: str,
    classifiers: dict[str, str],
    heartbeat: bool = True,
) -> int:
    """Record a new run of this process and keep its heartbeat until `finish_run`; first marks
    killed runs interrupted."""
    mark_interrupted(engine)
    now = utc_now()
    with engine.begin() as conn:
        run = conn.execute(
            CrawlRun.__table__.insert().returning(CrawlRun.id),  # type: ignore[attr-defined]
            {
                "project": project,
                "config_hash": config_hash,
                "vemeter_version": version,
                "classifiers": classifiers,
                "started_at": now,
                "heartbeat_at": now,
                "status": "running",
                "posts_new": 0,
                "posts_seen": 0,
                "posts_flagged": 0,
                "requests": 0,
                "pid": os.getpid(),
                "host": this_host(),
            },
        ).scalar_one()
    if heartbeat:
        _HEARTBEATS.add(engine, int(run))
    return int(run)


MESSAGE_LIMIT = 500


def one_line(message: str | None, limit: int = MESSAGE_LIMIT) -> str | None:
    """A run's message as one line of at most `limit` characters: never an SQL dump."""
    if message is None:
        return None
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
    _HEARTBEATS.remove(run_id)
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
                message=one_line(message),
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
    pages: int | None = None  # answers read (a crawl); None: an import
    signal: str | None = None


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
                        "observed": o.observed,
                        "pages": o.pages,
                        "signal": o.signal,
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


def recent_runs(engine: Engine, limit: int = 20) -> list[CrawlRun]:
    """The newest runs first."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.execute(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)).scalars()
        )


def runs_in_flight(engine: Engine) -> list[CrawlRun]:
    """Runs still running (after `mark_interrupted`, those whose process lives), oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.execute(
                select(CrawlRun).where(CrawlRun.status == RUNNING).order_by(CrawlRun.id)
            ).scalars()
        )


def find_run_of_process(engine: Engine, pid: int, since: datetime) -> CrawlRun | None:
    """The newest run that process `pid` of this host started at or after `since` (naive UTC)."""
    with Session(engine, expire_on_commit=False) as session:
        return session.execute(
            select(CrawlRun)
            .where(
                CrawlRun.pid == pid,
                CrawlRun.host == this_host(),
                CrawlRun.started_at >= utc_naive(since) - timedelta(seconds=1),
            )
            .order_by(CrawlRun.id.desc())
            .limit(1)
        ).scalar_one_or_none()
