"""`vemeter run`: a foreground service that starts each scheduled source's crawls when due.

One loop, one process (for systemd or a container). Each crawl runs in a fresh subprocess
(`vemeter crawl CONFIG --source NAME`: Scrapy's Twisted reactor cannot restart in a process),
in a session of its own so a stop reaches its writer process too. Per source:

- a lease in the database (storage.leases) makes sure one run of a source at a time, across
  processes and machines; the service beats it while its crawl runs;
- the schedule state (storage.scheduling) records the latest period accounted for, so a
  restarted service knows what it missed; `crawler.schedule.plan` decides what is due and
  which periods go to the gap ledger (storage.gaps) and why; one catch-up run covers them;
- a run that fails, is killed or is stopped leaves a gap for its period, closed by the next
  run that ends well; the service goes on.

SIGTERM or SIGINT stops it: no new runs; running crawls get SIGTERM (Scrapy closes them and
records their run), SIGKILL after `stop_timeout`; their scheduled runs are recorded `stopped`.

The clock is injectable: `SystemClock` for real use, `ScaledClock` (the hidden `--tick`) for
tests where a schedule minute lasts seconds, and any object with `now()` and `sleep()`.
The way crawls start is injectable too (`Spawner`), so the logic runs without processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from crawler.alerts import Watch
from crawler.config import ProjectConfig
from crawler.schedule import Cron, plan
from storage import gaps as gap_ledger
from storage import leases, scheduling
from storage.engine import open_database, utc_now
from storage.retention import DailyRetention
from storage.runs import (
    INTERRUPTED,
    find_run_of_process,
    heartbeat_interval,
    mark_interrupted,
    stale_after,
)

STOPPED = "stopped"
FAILED = "failed"


class Clock(Protocol):
    def now(self) -> datetime:
        """Now, naive UTC."""

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait `seconds` of this clock's time, or until `stop` is set."""


class SystemClock:
    def now(self) -> datetime:
        return utc_now()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(seconds, 0.0))


class ScaledClock:
    """A clock that runs `factor` times faster than real time from the moment it is made."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        self.factor = factor
        self._origin = start or utc_now()
        self._real = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._real) * self.factor)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(seconds, 0.0) / self.factor)


class Child(Protocol):
    pid: int

    def poll(self) -> int | None: ...
    def signal(self, signum: int) -> None: ...
    def output(self) -> str: ...


class Spawner(Protocol):
    def __call__(self, source: str) -> Child: ...


class CrawlProcess:
    """`python -m crawler.commands crawl CONFIG --source NAME` in a session of its own."""

    def __init__(self, config: Path, source: str, env: dict[str, str] | None = None) -> None:
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in output()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crawler.commands", "crawl", str(config), "--source", source],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )  # fmt: skip
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def signal(self, signum: int) -> None:
        """SIGTERM to the crawl (Scrapy then closes it and its writer, recording the run);
        SIGKILL to its whole session (the crawl and its writer process)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if signum == signal.SIGKILL:
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)

    def output(self) -> str:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace")
        self._log.close()
        return text


@dataclass
class Active:
    source: str
    scheduled_run: int
    slot: datetime
    holder: str
    child: Child
    started_real: datetime
    last_beat: float
    stop_sent: float | None = None


@dataclass
class ServiceStats:
    started: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    gaps: int = 0


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


class Service:
    """The scheduling loop for one project config (see the module docstring)."""

    def __init__(
        self,
        config: ProjectConfig,
        *,
        clock: Clock | None = None,
        spawn: Spawner | None = None,
        tolerance: float | None = None,
        poll: float = 1.0,
        stop_timeout: float = 60.0,
        max_runs: int | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        path = Path(config.path).resolve()
        self.spawn: Spawner = spawn or (lambda source: CrawlProcess(path, source))
        self.tolerance = tolerance
        self.poll = poll
        self.stop_timeout = stop_timeout
        self.max_runs = max_runs
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.sources = {s.name: Cron(s.schedule) for s in config.sources if s.schedule}
        self.stop = threading.Event()
        self.active: dict[str, Active] = {}
        self.stats = ServiceStats()
        self.engine = open_database(config.database_url)
        self.watch = Watch(self.engine, config, self.say)
        self.up_since = self.clock.now()
        self._stopping_since: float | None = None
        self._retention_daily = DailyRetention(self.engine, self.config.privacy.text_retention_days)

    # --- the loop -----------------------------------------------------------------------
    def run(self) -> ServiceStats:
        """Run until stopped (a signal, `request_stop`, or `max_runs` finished runs)."""
        old = self._install_signals()
        try:
            self.recover()
            self.say(
                f"vemeter run: {len(self.sources)} scheduled source(s) of {self.config.project}: "
                + ", ".join(f"{n} ({c.expression})" for n, c in self.sources.items())
            )
            while not self.stop.is_set():
                self.step()
                if self._done():
                    self.stop.set()
                    break
                self.clock.sleep(self._wait(), self.stop)
            self.shutdown()
        finally:
            self._restore_signals(old)
            self.watch.wait()
            self.engine.dispose()
        return self.stats

    def request_stop(self) -> None:
        self.stop.set()

    def _done(self) -> bool:
        finished = sum(self.stats.finished.values())
        return self.max_runs is not None and finished >= self.max_runs and not self.active

    def _wait(self) -> float:
        """Clock seconds to sleep: until the next period begins, at most `poll` real seconds."""
        factor = getattr(self.clock, "factor", 1.0)
        longest = self.poll * factor
        if self.active or not self.sources:
            return longest
        now = self.clock.now()
        states = scheduling.all_states(self.engine)
        soonest = longest
        for name, cron in self.sources.items():
            state = states.get(name)
            after = state.accounted_until if state and state.cron == cron.expression else now
            soonest = min(soonest, (cron.next_after(max(after, now)) - now).total_seconds())
        return max(soonest, 0.0) + 0.001

    def step(self) -> None:
        """One look: reap finished crawls, beat leases, apply retention daily, start what is due."""
        self._reap()
        self._beat()
        if self.stop.is_set():
            return
        self._retention()
        for name, cron in self.sources.items():
            if name in self.active:
                continue
            if self.max_runs is not None and self.stats.started >= self.max_runs:
                return
            self._consider(name, cron)

    def _retention(self) -> None:
        """Erase kept text past `privacy.text_retention_days`, once a day (DailyRetention)."""
        erased = self._retention_daily.run(self.clock.now())
        if erased:
            self.say(f"retention: erased the text of {erased} post(s) past the retention period")

    # --- starting -----------------------------------------------------------------------
    def _consider(self, source: str, cron: Cron) -> None:
        now = self.clock.now()
        state = scheduling.get_state(self.engine, source)
        if (
            state is not None
            and state.cron == cron.expression
            and cron.next_after(state.accounted_until) > now
        ):
            return  # nothing due: no write at all
        holder = leases.new_holder()
        if not leases.acquire(self.engine, source, holder, stale_after=stale_after()):
            return  # another process runs this source; its service accounts for the periods
        try:
            started = self._start_under_lease(source, cron, holder)
        except BaseException:
            leases.release(self.engine, source, holder)
            raise
        if not started:
            leases.release(self.engine, source, holder)

    def _start_under_lease(self, source: str, cron: Cron, holder: str) -> bool:
        now = self.clock.now()
        state = scheduling.get_state(self.engine, source)
        if state is None or state.cron != cron.expression:
            # New to the schedule (or a changed expression): nothing was promised before now.
            scheduling.put_state(self.engine, source, cron.expression, now, now)
            self.say(f"{source}: scheduled ({cron.expression}); first run {cron.next_after(now)}")
            return False
        if state.disabled_reason and self.watch.switch_on_if_fixed(source, now):
            state = scheduling.get_state(self.engine, source) or state
        tolerance = self.tolerance if self.tolerance is not None else cron.tolerance(now)
        decided = plan(
            cron, state.accounted_until, now, tolerance=tolerance, up_since=self.up_since,
            disabled=state.disabled_reason,
        )  # fmt: skip
        if decided is None:
            return False
        for g in decided.gaps:
            gap_id = gap_ledger.record_gap(
                self.engine, source, first_slot=g.first_slot, last_slot=g.last_slot,
                periods=g.periods, reason=g.reason, detail=g.detail, now=now, after=g.after,
            )  # fmt: skip
            self.watch.gap_opened(source, gap_id, g.reason, g.detail, g.first_slot, g.periods, now)
            self.stats.gaps += 1
            self.say(f"{source}: gap ({g.reason}): {g.detail}")
        scheduling.put_state(self.engine, source, cron.expression, decided.accounted_until, now)
        if decided.run_slot is None:
            return False
        catch_up = bool(decided.gaps) or bool(
            gap_ledger.list_gaps(self.engine, source, only_open=True)
        )
        kind = "catch-up" if catch_up else "scheduled"
        job = scheduling.start_scheduled_run(
            self.engine, source, kind=kind, slot_at=decided.run_slot, now=now, pid=os.getpid()
        )
        started_real = utc_now()
        try:
            child = self.spawn(source)
        except OSError as exc:
            self._finish(job, source, decided.run_slot, FAILED, None, None, f"cannot start: {exc}")
            return False
        scheduling.set_child(self.engine, job, child.pid)
        leases.beat(self.engine, source, holder, child_pid=child.pid)
        self.active[source] = Active(
            source, job, decided.run_slot, holder, child, started_real, time.monotonic()
        )
        self.stats.started += 1
        self.say(f"{source}: {kind} run {job} for {decided.run_slot} started (pid {child.pid})")
        return True

    # --- running and ending -------------------------------------------------------------
    def _beat(self) -> None:
        every = heartbeat_interval()
        for a in self.active.values():
            if time.monotonic() - a.last_beat >= every:
                leases.beat(self.engine, a.source, a.holder)
                a.last_beat = time.monotonic()

    def _reap(self) -> None:
        for source, a in list(self.active.items()):
            code = a.child.poll()
            if code is None:
                continue
            output = a.child.output()
            for line in output.splitlines():
                if line.strip():
                    self.say(f"[{source}] {line}")
            run = find_run_of_process(self.engine, a.child.pid, a.started_real)
            if run is not None and run.status == "running":
                mark_interrupted(self.engine)  # killed before it could record its end
                run = find_run_of_process(self.engine, a.child.pid, a.started_real)
            message: str | None
            if a.stop_sent is not None:
                status = STOPPED
                message = f"stopped with the service (exit code {code})"
            elif run is not None:
                status = run.status
                message = run.message or (None if code == 0 else f"exit code {code}")
            else:
                status = "ok" if code == 0 else FAILED
                message = None if code == 0 else f"exit code {code}: {_last_line(output)}"
            self._finish(
                a.scheduled_run, source, a.slot, status, code, run.id if run else None, message
            )
            leases.release(self.engine, source, a.holder)
            del self.active[source]

    def _finish(
        self,
        job: int,
        source: str,
        slot: datetime,
        status: str,
        code: int | None,
        run_id: int | None,
        message: str | None,
    ) -> None:
        now = self.clock.now()
        scheduling.finish_scheduled_run(
            self.engine, job, status=status, now=now, exit_code=code, run_id=run_id,
            message=message,
        )  # fmt: skip
        self.stats.finished[status] = self.stats.finished.get(status, 0) + 1
        if status in scheduling.OK_STATUSES:
            closed = gap_ledger.close_gaps(self.engine, source, job, now)
            note = f"; covered {closed} gap(s)" if closed else ""
        else:
            reason = status if status in (STOPPED, INTERRUPTED) else FAILED
            gap_id = gap_ledger.record_gap(
                self.engine, source, first_slot=slot, last_slot=slot, periods=1, reason=reason,
                detail=f"run {job} for {slot} ended {status}: {message or ''}".strip(),
                now=now,
            )  # fmt: skip
            self.stats.gaps += 1
            note = f"; its period is a gap ({reason})"
            if status != STOPPED:  # a stop with the service is asked for, not a failure
                self.watch.run_failed(source, job, status, run_id, message, gap_id, now)
        self.say(f"{source}: run {job} ended {status}{note}")
        if run_id is not None:
            self.watch.crawl_ended(run_id, now)

    def recover(self) -> None:
        """On start: crawls killed with an earlier service are marked, their periods gaps."""
        mark_interrupted(self.engine)
        for job in scheduling.orphaned_runs(self.engine):
            run = (
                find_run_of_process(self.engine, job.child_pid, datetime(1970, 1, 2))
                if job.child_pid
                else None
            )
            self._finish(
                job.id, job.source, job.slot_at, INTERRUPTED, None, run.id if run else None,
                "its service and crawl processes were gone when a service started",
            )  # fmt: skip

    def shutdown(self) -> None:
        """Stop: SIGTERM to running crawls, SIGKILL after `stop_timeout`; record them."""
        deadline = time.monotonic() + self.stop_timeout
        for a in self.active.values():
            self.say(f"{a.source}: stopping run {a.scheduled_run} (pid {a.child.pid})")
            a.child.signal(signal.SIGTERM)
            a.stop_sent = time.monotonic()
        while self.active:
            self._reap()
            if not self.active:
                break
            if time.monotonic() > deadline:
                for a in self.active.values():
                    a.child.signal(signal.SIGKILL)
                deadline = time.monotonic() + 30  # SIGKILL is not refused; reap it
            self._beat()
            time.sleep(0.05)

    # --- signals ------------------------------------------------------------------------
    def _install_signals(self) -> dict[int, object]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handler(signum: int, _frame: FrameType | None) -> None:
            if self.stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.stop.set()

        old: dict[int, object] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            old[signum] = signal.signal(signum, handler)
        return old

    def _restore_signals(self, old: dict[int, object]) -> None:
        for signum, previous in old.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]


def next_runs(
    config: ProjectConfig, count: int, now: datetime | None = None
) -> list[tuple[str, str, Sequence[datetime]]]:
    """Each scheduled source's next `count` periods: (source, expression, times)."""
    now = now or utc_now()
    return [
        (s.name, s.schedule, Cron(s.schedule).next_runs(now, count))
        for s in config.sources
        if s.schedule
    ]
