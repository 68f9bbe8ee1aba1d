"""Schedules: cron expressions in the config, what is due when, and the service's bookkeeping
(runs, gaps, leases) driven by a fake clock and fake crawls (no processes, no waiting)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from threading import Event

import pytest

from crawler.config import load_config
from crawler.errors import ConfigError
from crawler.schedule import Cron, check_cron, plan
from crawler.service import Service
from storage.engine import open_database
from storage.gaps import list_gaps
from storage.scheduling import scheduled_runs, set_disabled

T0 = datetime(2026, 3, 2, 10, 0, 0)
MINUTE = timedelta(minutes=1)


def test_check_cron_accepts_five_fields_and_explains_anything_else() -> None:
    assert check_cron("0  */6 * * *") == "0 */6 * * *"
    for bad in ("0 */6 * * * *", "every hour", "61 * * * *", ""):
        with pytest.raises(ValueError, match="is not a cron expression: write five fields"):
            check_cron(bad)


def test_a_bad_schedule_in_the_config_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "project: p\nsources:\n  - {name: a, platform: vk, targets: [-1], schedule: '*/5 * * *'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert "sources.0.schedule" in problem and "'*/5 * * *' is not a cron expression" in problem
    path.write_text(path.read_text().replace("'*/5 * * *'", "'*/5 * * * *'"), encoding="utf-8")
    assert load_config(path).sources[0].schedule == "*/5 * * * *"


def test_cron_next_and_latest_periods() -> None:
    cron = Cron("0 */6 * * *")
    assert cron.next_after(T0) == datetime(2026, 3, 2, 12)
    assert cron.next_after(datetime(2026, 3, 2, 12)) == datetime(2026, 3, 2, 18)
    assert cron.latest_at(datetime(2026, 3, 2, 12)) == datetime(2026, 3, 2, 12)
    assert cron.latest_at(T0) == datetime(2026, 3, 2, 6)
    assert cron.tolerance(T0) == 600  # half of 6 h, at most 10 min
    assert Cron("* * * * *").tolerance(T0) == 30


def test_plan_runs_the_one_period_on_time_and_nothing_before_it() -> None:
    cron = Cron("* * * * *")
    up = T0 - timedelta(hours=1)
    assert plan(cron, T0, T0 + timedelta(seconds=59), tolerance=30, up_since=up) is None
    due = plan(cron, T0, T0 + MINUTE + timedelta(seconds=3), tolerance=30, up_since=up)
    assert due is not None and due.run_slot == T0 + MINUTE and due.gaps == []
    assert due.accounted_until == T0 + MINUTE


def test_plan_after_an_outage_is_one_gap_and_one_catch_up_run() -> None:
    cron = Cron("* * * * *")
    back = T0 + 6 * MINUTE + timedelta(seconds=2)  # down from T0 + 1 s to T0 + 6 min
    due = plan(cron, T0, back, tolerance=30, up_since=back)
    assert due is not None and due.run_slot == T0 + 6 * MINUTE
    (gap,) = due.gaps
    assert (gap.reason, gap.first_slot, gap.last_slot, gap.periods) == (
        "downtime", T0 + MINUTE, T0 + 5 * MINUTE, 5,
    )  # fmt: skip


def test_plan_counts_a_late_period_and_a_paused_source_as_gaps() -> None:
    cron = Cron("* * * * *")
    up = T0 - timedelta(hours=1)
    late = plan(cron, T0, T0 + 2 * MINUTE + timedelta(seconds=45), tolerance=30, up_since=up)
    assert late is not None and late.run_slot == T0 + 2 * MINUTE
    (gap,) = late.gaps
    assert (gap.reason, gap.first_slot, gap.last_slot, gap.periods) == (
        "late", T0 + MINUTE, T0 + 2 * MINUTE, 2,
    )  # fmt: skip
    paused = plan(cron, T0, T0 + 3 * MINUTE, tolerance=30, up_since=up, disabled="token revoked")
    assert paused is not None and paused.run_slot is None
    assert [(g.reason, g.periods, g.detail) for g in paused.gaps] == [
        ("disabled", 3, "paused: token revoked")
    ]
    assert paused.accounted_until == T0 + 3 * MINUTE


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float, stop: Event) -> None:
        self.t += timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        self.t += delta


class FakeCrawl:
    """A crawl that ends when the test says so, with the exit code the test gives."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pid = os.getpid()  # alive: a lease on it is held
        self.code: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.code

    def signal(self, signum: int) -> None:
        self.signals.append(signum)
        self.code = -signum

    def output(self) -> str:
        return "" if self.code == 0 else "Error: the fake crawl failed"


class Crawls:
    def __init__(self) -> None:
        self.started: list[FakeCrawl] = []

    def __call__(self, source: str) -> FakeCrawl:
        crawl = FakeCrawl(source)
        self.started.append(crawl)
        return crawl

    def running(self) -> list[FakeCrawl]:
        return [c for c in self.started if c.code is None]


def project(tmp_path: Path, schedule: str = "* * * * *") -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nsources:\n"
        f"  - {{name: a, platform: vk, targets: [-1], schedule: '{schedule}'}}\n",
        encoding="utf-8",
    )
    return path


def service(path: Path, clock: FakeClock, crawls: Crawls) -> Service:
    return Service(load_config(path), clock=clock, spawn=crawls, say=lambda _line: None)


def cycle(svc: Service, clock: FakeClock, crawls: Crawls, code: int = 0) -> None:
    """A minute passes: the period's crawl starts (2 s in) and ends (20 s in) with `code`."""
    start = clock.t
    clock.advance(timedelta(seconds=2))
    svc.step()
    clock.advance(timedelta(seconds=18))
    for crawl in crawls.running():
        crawl.code = code
    svc.step()
    clock.t = start + MINUTE


def test_a_five_minute_outage_gives_one_gap_and_one_catch_up_run(tmp_path: Path) -> None:
    path = project(tmp_path)
    clock, crawls = FakeClock(T0 + timedelta(seconds=30)), Crawls()
    first = service(path, clock, crawls)
    first.step()  # the source is new: first run at the next minute
    clock.t = T0 + MINUTE
    for _ in range(3):  # 10:01, 10:02, 10:03 run
        cycle(first, clock, crawls)
    first.engine.dispose()
    assert len(crawls.started) == 3
    clock.t = T0 + 9 * MINUTE + timedelta(seconds=5)  # down from 10:03:20 to 10:09:05
    second = service(path, clock, crawls)
    second.step()
    assert len(crawls.started) == 4 and len(crawls.running()) == 1
    gaps = list_gaps(second.engine)
    assert [(g.reason, g.first_slot, g.last_slot, g.periods, g.open) for g in gaps] == [
        ("downtime", T0 + 4 * MINUTE, T0 + 8 * MINUTE, 5, True)
    ]
    crawls.running()[0].code = 0
    clock.advance(timedelta(seconds=20))
    second.step()
    jobs = scheduled_runs(second.engine)
    assert [(j.kind, j.slot_at, j.status) for j in jobs] == [
        ("scheduled", T0 + MINUTE, "ok"),
        ("scheduled", T0 + 2 * MINUTE, "ok"),
        ("scheduled", T0 + 3 * MINUTE, "ok"),
        ("catch-up", T0 + 9 * MINUTE, "ok"),
    ]
    (gap,) = list_gaps(second.engine)
    assert gap.covered_by == jobs[-1].id and not gap.open
    clock.t = T0 + 10 * MINUTE + timedelta(seconds=1)
    second.step()  # back to normal: one run for 10:10, no new gap
    assert len(crawls.started) == 5 and len(list_gaps(second.engine)) == 1
    second.engine.dispose()


def test_no_two_runs_of_a_source_overlap_and_a_long_run_makes_a_late_gap(tmp_path: Path) -> None:
    path = project(tmp_path)
    clock, crawls = FakeClock(T0), Crawls()
    one, two = service(path, clock, crawls), service(path, clock, crawls)
    one.step()
    clock.t = T0 + MINUTE + timedelta(seconds=1)
    one.step()
    two.step()  # the lease is held: the second service starts nothing
    assert len(crawls.started) == 1
    clock.t = T0 + 3 * MINUTE + timedelta(seconds=50)  # the run is still going past 2 periods
    one.step()
    two.step()
    assert len(crawls.started) == 1
    crawls.started[0].code = 0
    one.step()  # reaped and released, and the next (catch-up) run started at once
    two.step()
    assert len(crawls.started) == 2 and len(crawls.running()) == 1
    (gap,) = list_gaps(one.engine)
    assert (gap.reason, gap.first_slot, gap.last_slot, gap.periods) == (
        "late", T0 + 2 * MINUTE, T0 + 3 * MINUTE, 2,
    )  # fmt: skip
    assert scheduled_runs(one.engine)[-1].kind == "catch-up"
    one.engine.dispose()
    two.engine.dispose()


def test_a_failing_run_is_a_gap_the_service_survives_and_the_next_run_covers(
    tmp_path: Path,
) -> None:
    path = project(tmp_path)
    clock, crawls = FakeClock(T0), Crawls()
    svc = service(path, clock, crawls)
    svc.step()
    clock.t = T0 + MINUTE
    cycle(svc, clock, crawls, code=1)
    (gap,) = list_gaps(svc.engine)
    assert (gap.reason, gap.periods, gap.open) == ("failed", 1, True)
    assert "exit code 1: Error: the fake crawl failed" in (gap.detail or "")
    cycle(svc, clock, crawls, code=0)
    jobs = scheduled_runs(svc.engine)
    assert [(j.kind, j.status) for j in jobs] == [("scheduled", "failed"), ("catch-up", "ok")]
    assert list_gaps(svc.engine, only_open=True) == []
    svc.engine.dispose()


def test_a_paused_source_runs_nothing_and_its_periods_are_one_growing_gap(tmp_path: Path) -> None:
    path = project(tmp_path)
    clock, crawls = FakeClock(T0), Crawls()
    svc = service(path, clock, crawls)
    svc.step()
    set_disabled(svc.engine, "a", "token revoked", T0)
    for minute in (1, 2, 3):
        clock.t = T0 + minute * MINUTE + timedelta(seconds=1)
        svc.step()
    assert crawls.started == []
    (gap,) = list_gaps(svc.engine)
    assert (gap.reason, gap.periods, gap.first_slot, gap.last_slot) == (
        "disabled", 3, T0 + MINUTE, T0 + 3 * MINUTE,
    )  # fmt: skip
    set_disabled(svc.engine, "a", None, T0)
    clock.t = T0 + 4 * MINUTE + timedelta(seconds=1)
    svc.step()
    assert len(crawls.started) == 1 and scheduled_runs(svc.engine)[-1].kind == "catch-up"
    svc.engine.dispose()


def test_stopping_the_service_stops_its_crawl_and_records_it(tmp_path: Path) -> None:
    path = project(tmp_path)
    clock, crawls = FakeClock(T0), Crawls()
    svc = service(path, clock, crawls)
    svc.step()
    clock.t = T0 + MINUTE
    svc.step()
    svc.request_stop()
    svc.shutdown()
    assert crawls.started[0].signals == [15]
    (job,) = scheduled_runs(svc.engine)
    assert job.status == "stopped"
    assert [g.reason for g in list_gaps(svc.engine)] == ["stopped"]
    engine = open_database(load_config(path).database_url)
    from storage.leases import lease

    info = lease(engine, "a")
    assert info is not None and info.holder is None  # released
    engine.dispose()
    svc.engine.dispose()


def test_schedule_show_lists_the_next_runs_and_pause_writes_the_state(tmp_path: Path) -> None:
    import json

    from storage.scheduling import get_state
    from tests.cli import vemeter

    path = project(tmp_path, "0 */6 * * *")
    shown = vemeter("schedule", "show", str(path), "--next", "2", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [(r["source"], r["n"]) for r in rows] == [("a", 1), ("a", 2)]
    first, second = (datetime.fromisoformat(r["run_at"].removesuffix("Z")) for r in rows)
    assert first.hour % 6 == 0 and first.minute == 0 and second - first == timedelta(hours=6)
    paused = vemeter("schedule", "pause", str(path), "a", "--reason", "token revoked")
    assert paused.returncode == 0, paused.stderr
    engine = open_database(load_config(path).database_url)
    state = get_state(engine, "a")
    assert state is not None and state.disabled_reason == "token revoked"
    status = vemeter("status", str(path), "--format", "json")
    assert json.loads(status.stdout)["sources"][0]["paused"] == "token revoked"
    assert vemeter("schedule", "resume", str(path), "a").returncode == 0
    state = get_state(engine, "a")
    assert state is not None and state.disabled_reason is None
    engine.dispose()
