"""`vemeter run` on PostgreSQL: a worker of a pool, on procrastinate's job queue.

Started on any number of machines against one PostgreSQL database, each `vemeter run` is a
procrastinate worker (crawler.pool.Pool) of the queue `vemeter`:

- **Jobs per (source, target).** A scheduled period of a source is one `scheduled_runs` row and
  one job per target (and per search): task `vemeter.crawl_target`, with the procrastinate
  `lock` and `queueing_lock` `SOURCE/TARGET`, so a target is never crawled by two workers at
  once and never queued twice, while a large source spreads over every worker.
- **A fresh process per job** (`python -m crawler.pool_job CONFIG SOURCE TARGET`; Scrapy's
  Twisted reactor cannot restart in a process), which dies with its worker.
- **Deferred once per period.** One worker at a time holds the scheduler lock (a session-level
  advisory lock, released by PostgreSQL when its holder dies) and does what the SQLite service
  does per source: the period plan, the gap ledger, one catch-up run for missed periods, and no
  new period of a source while its previous run has jobs left. A run ends when its last job
  does: ok (every job succeeded), partial (some failed, or a target ended partial) or failed.
- **Stalled jobs retried by vemeter.** Every worker beats procrastinate's worker heartbeat; the
  scheduler-lock holder looks for jobs `doing` on a worker whose heartbeat is older than the
  stall tolerance (`get_stalled_jobs`), marks their attempts `stalled` and retries them
  (`retry_job`), so a worker killed mid-job costs one tolerance; storage is idempotent, so the
  crawl done twice stores each post once. A job stalled `MAX_ATTEMPTS` times fails.
- **SIGTERM**: no new jobs; running crawls get SIGTERM (their runs are recorded), SIGKILL after
  the stop timeout; their jobs go back to the queue for the other workers (`Requeue`).

Everything a job did is in `pool_attempts` (storage.pool): host, pid, worker id, start, end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from crawler.alerts import Watch
from crawler.config import ProjectConfig
from crawler.pool_job import PARENT_ENV, units_of
from crawler.schedule import Cron, plan
from storage import gaps as gap_ledger
from storage import pool as store
from storage import scheduling
from storage.buckets import conninfo
from storage.engine import open_database, utc_naive, utc_now
from storage.retention import DailyRetention
from storage.runs import INTERRUPTED, mark_interrupted, process_alive, this_host

log = logging.getLogger(__name__)

QUEUE = "vemeter"
TASK = "vemeter.crawl_target"
# Attempts of one job before it fails for good: stalls (its worker died) and requeues (its
# worker stopped) both count; a crawl that fails on its own is not retried (the next period is).
MAX_ATTEMPTS = 5
# procrastinate's defaults: a worker beats every 10 s; one silent for 30 s is stalled.
HEARTBEAT = 10.0
STALLED_AFTER = 30.0
# A stalled job goes before the others: it has waited a stall tolerance already.
RETRY_PRIORITY = 10
# A scheduled run whose jobs never reached the queue (its scheduler died in between).
ORPHAN_GRACE = 60.0

T = TypeVar("T")


class Requeue(Exception):
    """The job's crawl was stopped with its worker: back to the queue for another worker."""


class CrawlFailed(Exception):
    """The job's crawl ended failed (exit code 1): the job fails; the next period tries again."""


def is_pool_database(url: str) -> bool:
    return url.startswith("postgresql")


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class PoolStats:
    jobs_run: int = 0
    finished: dict[str, int] = field(default_factory=dict)  # job outcomes in this worker
    deferred_runs: int = 0
    deferred_jobs: int = 0
    stalled_retried: int = 0
    gaps: int = 0


class Pool:
    """One worker of the pool for one project config (see the module docstring)."""

    def __init__(
        self,
        config: ProjectConfig,
        *,
        clock: Any = None,
        tolerance: float | None = None,
        poll: float = 1.0,
        stop_timeout: float = 60.0,
        concurrency: int = 1,
        max_runs: int | None = None,
        schedule: bool = True,
        say: Callable[[str], None] | None = None,
    ) -> None:
        from crawler.service import SystemClock

        self.config = config
        self.config_path = Path(config.path).resolve()
        self.clock = clock or SystemClock()
        self.tolerance = tolerance
        self.poll = poll
        self.stop_timeout = stop_timeout
        self.concurrency = concurrency
        self.max_runs = max_runs
        self.schedule = schedule
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.heartbeat = _env_seconds("VEMETER_POOL_HEARTBEAT", HEARTBEAT)
        self.stalled_after = _env_seconds(
            "VEMETER_POOL_STALLED", max(STALLED_AFTER, 3 * self.heartbeat)
        )
        self.sources = {s.name: Cron(s.schedule) for s in config.sources if s.schedule}
        self.engine = open_database(config.database_url)
        self.up_since = self.clock.now()
        self.stats = PoolStats()
        self.stopping = False
        self.children: dict[int, asyncio.subprocess.Process] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Any = None
        self._lock = store.SchedulerLock(self.engine)
        self._zygotes: list[Any] = []
        # Alerts and source health, as the single service reports them (crawler.alerts).
        self.watch = Watch(self.engine, config, self.say)
        self._retention_daily = DailyRetention(self.engine, self.config.privacy.text_retention_days)
        self._host = this_host()

    # --- procrastinate ------------------------------------------------------------------
    def _app(self) -> Any:
        import procrastinate

        app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo(self.config.database_url),
                min_size=1,
                max_size=max(4, self.concurrency + 3),
            )
        )
        app.task(
            name=TASK,
            queue=QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=MAX_ATTEMPTS, retry_exceptions={Requeue}
            ),
        )(self._crawl)
        return app

    def ensure_schema(self) -> None:
        import importlib.metadata

        from procrastinate.schema import SchemaManager

        version = importlib.metadata.version("procrastinate")
        if store.ensure_queue_schema(self.engine, SchemaManager.get_schema(), str(version)):
            self.say(f"vemeter run: created the job queue (procrastinate {version}'s schema)")

    # --- the worker ---------------------------------------------------------------------
    def run(self) -> PoolStats:
        """Run until SIGTERM/SIGINT (or, with max_runs, until that many runs have settled)."""
        self.ensure_schema()
        try:
            asyncio.run(self._main())
        finally:
            for zygote in self._zygotes:
                zygote.close()
            self.watch.wait()
            self._lock.release()
            self.engine.dispose()
        return self.stats

    async def _main(self) -> None:
        from procrastinate.worker import Worker

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.add_signal_handler(signum, self._on_signal)
        app = self._app()
        self.app = app
        async with app.open_async():
            self._worker = Worker(
                app,
                queues=[QUEUE],
                name=f"vemeter@{self._host.split('#')[0]}:{os.getpid()}",
                concurrency=self.concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=self.heartbeat,
                stalled_worker_timeout=self.stalled_after,
                fetch_job_polling_interval=max(self.poll, 0.2),
            )
            names = ", ".join(f"{n} ({c.expression})" for n, c in self.sources.items())
            self.say(
                f"vemeter run: pool worker {os.getpid()} on {self._host.split('#')[0]}, "
                f"{len(self.sources)} scheduled source(s) of {self.config.project}: {names}"
            )
            if os.environ.get("VEMETER_POOL_ZYGOTE", "1") != "0":
                self._new_zygotes(self.concurrency)  # warm before the first job comes
            scheduler = asyncio.create_task(self._scheduler_loop(), name="vemeter-scheduler")
            try:
                await self._worker.run()
            finally:
                self.stopping = True
                self._wake.set()
                await scheduler  # ends its step (which calls into this loop), then stops

    def _on_signal(self) -> None:
        if self.stopping:  # a second signal: stop the crawls now
            self._kill_children()
            return
        self.say(
            "vemeter run: stopping (running crawls are stopped; their jobs go back to the queue)"
        )
        self.request_stop()

    def request_stop(self) -> None:
        self.stopping = True
        if self._loop is not None:
            self._wake.set()
        for proc in list(self.children.values()):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        if self._loop is not None:
            self._loop.call_later(self.stop_timeout, self._kill_children)
        if self._worker is not None:
            self._worker.stop()

    def _kill_children(self) -> None:
        for proc in list(self.children.values()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    # --- a job --------------------------------------------------------------------------
    async def _crawl(
        self,
        context: Any,
        *,
        source: str,
        target: str,
        scheduled_run: int | None = None,
        slot: str | None = None,
    ) -> dict[str, Any]:
        job = context.job
        attempt = await asyncio.to_thread(
            store.start_attempt, self.engine, job_id=int(job.id), scheduled_run=scheduled_run,
            source=source, target=target, attempt=int(job.attempts) + 1, host=self._host,
            pid=os.getpid(), worker_id=job.worker_id,
        )  # fmt: skip
        if self.stopping:
            await asyncio.to_thread(
                store.finish_attempt, self.engine, attempt, status="requeued", exit_code=None,
                message="its worker was stopping",
            )  # fmt: skip
            raise Requeue("the worker is stopping")
        self.stats.jobs_run += 1
        with tempfile.NamedTemporaryFile(prefix="vemeter-job-", suffix=".log") as output:
            proc = await self._start_job([str(self.config_path), source, target], Path(output.name))
            self.children[int(job.id)] = proc
            try:
                await asyncio.to_thread(store.set_attempt_child, self.engine, attempt, proc.pid)
                code = await proc.wait()
            finally:
                self.children.pop(int(job.id), None)
            output.seek(0)
            text = output.read().decode("utf-8", errors="replace")
        summary = _summary(text)
        for line in text.splitlines():
            if line.strip() and not line.startswith("{"):
                self.say(f"[{source}/{target}] {line}")
        if self.stopping and (code != 0 or summary.get("status") != "ok"):
            # Stopped with its worker before the end of its target: another worker does it.
            await asyncio.to_thread(
                store.finish_attempt, self.engine, attempt, status="requeued", exit_code=code,
                message="stopped with its worker; back to the queue",
            )  # fmt: skip
            self._count("requeued")
            raise Requeue(f"stopped with its worker (exit code {code})")
        status = str(summary.get("status") or ("ok" if code == 0 else "failed"))
        if code != 0:
            status = "failed"
        message = summary.get("error") or _problem(summary)
        if code != 0:
            message = f"exit code {code}: {message or _tail(text)}"
        await asyncio.to_thread(
            store.finish_attempt, self.engine, attempt, status=status, exit_code=code,
            message=message,
        )  # fmt: skip
        self._count(status)
        for run_id in summary.get("runs") or []:
            await asyncio.to_thread(
                self._tell, self.watch.crawl_ended, int(run_id), self.clock.now()
            )
        self.say(
            f"{source}/{target}: job {job.id} ended {status} "
            f"({summary.get('posts_new', 0)} new, {summary.get('posts_seen', 0)} seen)"
        )
        if code != 0:
            raise CrawlFailed(message or f"exit code {code}")
        return {k: summary.get(k) for k in ("status", "posts_new", "posts_seen", "runs")}

    async def _start_job(self, args: list[str], output: Path) -> Any:
        """The job's process: forked by a free zygote of this worker (warm imports), or, if
        zygotes are off (VEMETER_POOL_ZYGOTE=0) or fail, a fresh interpreter."""
        env = dict(os.environ)
        if os.environ.get("VEMETER_POOL_ZYGOTE", "1") != "0":
            zygote = self._free_zygote()
            if zygote is not None:
                try:
                    return await zygote.start(args, env, output)
                except (OSError, EOFError, AssertionError) as exc:
                    log.warning("job zygote failed (%s); starting a fresh process", exc)
                    self._zygotes.remove(zygote)
                    zygote.close()
        with output.open("wb") as out:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "crawler.pool_job", *args, stdin=asyncio.subprocess.DEVNULL,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**env, PARENT_ENV: str(os.getpid())}, start_new_session=True,
            )  # fmt: skip

    def _free_zygote(self) -> Any:
        for z in list(self._zygotes):
            if not z.busy and not z.alive():
                self._zygotes.remove(z)
                z.close()
        for z in self._zygotes:
            if not z.busy:
                return z
        return self._new_zygotes(1)

    def _new_zygotes(self, n: int) -> Any:
        """Start up to `n` more zygotes (at most one per job slot); the last one started."""
        from crawler.pool_zygote import Zygote

        zygote = None
        for _ in range(min(n, self.concurrency - len(self._zygotes))):
            try:
                zygote = Zygote()  # in the event loop's thread: the parent-death signal's parent
            except OSError as exc:
                log.warning("cannot start a job zygote (%s)", exc)
                return None
            self._zygotes.append(zygote)
        return zygote

    def _tell(self, hook: Callable[..., Any], *args: Any) -> Any:
        """An alert or health hook (crawler.alerts): its failure is logged, never the job's."""
        try:
            return hook(*args)
        except Exception as exc:
            log.warning("%s failed: %s", getattr(hook, "__name__", "hook"), exc)
            self.say(f"vemeter run: {getattr(hook, '__name__', 'a hook')} failed ({exc})")
            return None

    def _count(self, status: str) -> None:
        self.stats.finished[status] = self.stats.finished.get(status, 0) + 1

    # --- the scheduler role ---------------------------------------------------------------
    async def _scheduler_loop(self) -> None:
        factor = float(getattr(self.clock, "factor", 1.0))
        while not self.stopping:
            try:
                done = await asyncio.to_thread(self.step)
            except Exception as exc:  # a database hiccup: log it, try again next time
                log.warning("pool scheduler step failed: %s", exc)
                self.say(
                    f"vemeter run: scheduler step failed ({type(exc).__name__}: {exc}); trying again"
                )
                self._lock.release()
                done = False
            if done:
                self.say(
                    f"vemeter run: the database holds {self.max_runs} settled run(s); stopping"
                )
                self.request_stop()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), self.poll if factor == 1.0 else min(self.poll, 0.5)
                )

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine of procrastinate's on the worker's loop, from the scheduler thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def step(self) -> bool:
        """One look (in a thread): if this worker holds the scheduler lock, retry stalled jobs,
        settle finished runs and defer what is due. True once `max_runs` runs have settled."""
        if self._lock.take():
            mark_interrupted(self.engine)  # crawl runs whose process died (killed jobs)
            self.retry_stalled()
            self._retention()
            if self.schedule:
                for name, cron in self.sources.items():
                    if self.stopping:
                        break
                    self._consider(name, cron)
        if self.max_runs is None:
            return False
        total, running = store.count_scheduled_runs(self.engine)
        return total >= self.max_runs and running == 0

    def _retention(self) -> None:
        """Erase kept text past `privacy.text_retention_days`, once a day (DailyRetention)."""
        erased = self._retention_daily.run(self.clock.now())
        if erased:
            self.say(f"retention: erased the text of {erased} post(s) past the retention period")

    def retry_stalled(self) -> int:
        """Jobs `doing` whose worker is gone, retried (or failed past the cap): those of a
        worker whose heartbeat is older than the stall tolerance (any machine), and those of a
        worker process of this machine that is gone (no need to wait for its heartbeat)."""
        from procrastinate import jobs as pjobs

        manager = self.app.job_manager
        stalled: dict[int, tuple[int, dict[str, Any], str]] = {}
        for job in self._call(
            manager.get_stalled_jobs(
                queue=QUEUE, task_name=TASK, seconds_since_heartbeat=self.stalled_after
            )
        ):
            why = (
                f"its worker ({job.worker_id}) stopped beating for over {self.stalled_after:g} s"
                if job.worker_id is not None
                else "its worker is gone"
            )
            stalled[int(job.id)] = (int(job.attempts), dict(job.task_kwargs), why)
        for job_id, attempts, args, pid, started in store.running_here(
            self.engine, TASK, self._host
        ):
            if job_id not in stalled and not process_alive(pid, started):
                stalled[job_id] = (attempts, args, f"its worker process {pid} is gone")
        retried = 0
        for job_id, (attempts, args, why) in sorted(stalled.items()):
            store.mark_stalled(self.engine, job_id, f"stalled: {why}")
            what = f"{args.get('source')}/{args.get('target')}"
            if attempts + 1 >= MAX_ATTEMPTS:
                self._call(
                    manager.finish_job_by_id_async(
                        job_id=job_id, status=pjobs.Status.FAILED, delete_job=False
                    )
                )
                self.say(f"{what}: job {job_id} stalled {MAX_ATTEMPTS} times; failed")
                continue
            try:
                self._call(
                    manager.retry_job_by_id_async(
                        job_id=job_id, retry_at=datetime.now(UTC), priority=RETRY_PRIORITY
                    )
                )
            except Exception as exc:  # no longer `doing`: finished meanwhile
                log.info("job %s not retried: %s", job_id, exc)
                continue
            retried += 1
            self.say(f"{what}: job {job_id} stalled ({why}); back in the queue")
        self.stats.stalled_retried += retried
        self._call(manager.prune_stalled_workers(self.stalled_after))
        return retried

    def _consider(self, source: str, cron: Cron) -> None:
        now = self.clock.now()
        running = store.running_scheduled_run(self.engine, source)
        if running is not None and not self._settle(running, now):
            return  # one run of a source at a time: its periods wait (then late, or caught up)
        state = scheduling.get_state(self.engine, source)
        if state is None or state.cron != cron.expression:
            scheduling.put_state(self.engine, source, cron.expression, now, now)
            self.say(f"{source}: scheduled ({cron.expression}); first run {cron.next_after(now)}")
            return
        if cron.next_after(state.accounted_until) > now:
            return
        if (
            self.max_runs is not None
            and store.count_scheduled_runs(self.engine)[0] >= self.max_runs
        ):
            return
        if state.disabled_reason and self._tell(self.watch.switch_on_if_fixed, source, now):
            state = scheduling.get_state(self.engine, source) or state
        tolerance = self.tolerance if self.tolerance is not None else cron.tolerance(now)
        decided = plan(
            cron, state.accounted_until, now, tolerance=tolerance, up_since=self.up_since,
            disabled=state.disabled_reason,
        )  # fmt: skip
        if decided is None:
            return
        for g in decided.gaps:
            gap_id = gap_ledger.record_gap(
                self.engine, source, first_slot=g.first_slot, last_slot=g.last_slot,
                periods=g.periods, reason=g.reason, detail=g.detail, now=now, after=g.after,
            )  # fmt: skip
            self._tell(
                self.watch.gap_opened, source, gap_id, g.reason, g.detail, g.first_slot, g.periods,
                now,
            )  # fmt: skip
            self.stats.gaps += 1
            self.say(f"{source}: gap ({g.reason}): {g.detail}")
        scheduling.put_state(self.engine, source, cron.expression, decided.accounted_until, now)
        if decided.run_slot is None:
            return
        catch_up = bool(decided.gaps) or bool(
            gap_ledger.list_gaps(self.engine, source, only_open=True)
        )
        kind = "catch-up" if catch_up else "scheduled"
        run = scheduling.start_scheduled_run(
            self.engine, source, kind=kind, slot_at=decided.run_slot, now=now, pid=os.getpid()
        )
        units = units_of(self.config.source(source))
        deferred = self._defer(run, source, units, decided.run_slot)
        self.stats.deferred_runs += 1
        self.stats.deferred_jobs += deferred
        self.say(f"{source}: {kind} run {run} for {decided.run_slot}: {deferred} job(s) queued")

    def _defer(self, run: int, source: str, units: list[str], slot: datetime) -> int:
        """One job per unit, in one statement (all or none); a unit already queued is skipped."""
        from procrastinate import exceptions as pexc

        def job(unit: str) -> Any:
            key = f"{source}/{unit}"
            return self.app.configure_task(
                TASK, queue=QUEUE, lock=key, queueing_lock=key
            ).make_new_job(scheduled_run=run, source=source, target=unit, slot=slot.isoformat())

        manager = self.app.job_manager
        try:
            return len(self._call(manager.batch_defer_jobs_async([job(u) for u in units])))
        except pexc.AlreadyEnqueued:
            deferred = 0
            for unit in units:
                try:
                    self._call(manager.batch_defer_jobs_async([job(unit)]))
                    deferred += 1
                except pexc.AlreadyEnqueued:
                    self.say(f"{source}/{unit}: a job for it is queued already; not queued again")
            return deferred

    def _settle(self, run: Any, now: datetime) -> bool:
        """End a scheduled run whose jobs are all done; False while some are left."""
        jobs = store.run_jobs(self.engine, int(run.id), TASK)
        if jobs.total == 0:
            started = utc_naive(run.started_at) or now
            if (utc_now() - started).total_seconds() < ORPHAN_GRACE:
                return False  # its scheduler may still be deferring
            return self._finish(run, INTERRUPTED, "its jobs never reached the queue", now)
        if not jobs.settled:
            return False
        if jobs.failed == 0:
            status = "partial" if jobs.partial else "ok"
        else:
            status = "partial" if jobs.succeeded else "failed"
        message = (
            f"{jobs.total} job(s): {jobs.succeeded - jobs.partial} ok, {jobs.partial} partial, "
            f"{jobs.failed} failed"
        )
        return self._finish(run, status, message, now)

    def _finish(self, run: Any, status: str, message: str, now: datetime) -> bool:
        scheduling.finish_scheduled_run(
            self.engine, int(run.id), status=status, now=now, exit_code=None, run_id=None,
            message=message,
        )  # fmt: skip
        slot = utc_naive(run.slot_at)
        if status in scheduling.OK_STATUSES:
            closed = gap_ledger.close_gaps(self.engine, run.source, int(run.id), now)
            note = f"; covered {closed} gap(s)" if closed else ""
        else:
            reason = INTERRUPTED if status == INTERRUPTED else gap_ledger.FAILED
            gap_id = gap_ledger.record_gap(
                self.engine, run.source, first_slot=slot, last_slot=slot, periods=1,
                reason=reason, detail=f"run {run.id} for {slot} ended {status}: {message}",
                now=now,
            )  # fmt: skip
            self.stats.gaps += 1
            note = f"; its period is a gap ({reason})"
            self._tell(
                self.watch.run_failed, run.source, int(run.id), status, None, message, gap_id, now
            )
        self.say(f"{run.source}: run {run.id} ended {status} ({message}){note}")
        return True


def _summary(text: str) -> dict[str, Any]:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(line)
                if isinstance(parsed, dict):
                    return parsed
    return {}


def _problem(summary: dict[str, Any]) -> str | None:
    bad = [t for t in summary.get("targets") or [] if t.get("status") != "ok"]
    if not bad:
        return None
    return "; ".join(
        f"{t.get('target')}: {t.get('status')} ({t.get('reason') or ''})" for t in bad
    )[:500]


def _tail(text: str, n: int = 5) -> str:
    """The crawl's last lines of output (not its JSON summary), for a failed job's message."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("{")]
    return " | ".join(lines[-n:])[-1000:]


def wait_for(predicate: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    """Poll `predicate` until true or `timeout` seconds (tests and the bench)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
