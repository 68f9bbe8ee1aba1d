"""Leases, the gap ledger and run heartbeats, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from storage.engine import utc_now
from storage.gaps import close_gaps, list_gaps, record_gap
from storage.leases import acquire, beat, lease, new_holder, release
from storage.models import CrawlRun, SourceLease
from storage.runs import (
    INTERRUPTED,
    beating_runs,
    finish_run,
    get_run,
    mark_interrupted,
    start_run,
    this_host,
)
from storage.scheduling import start_scheduled_run

T0 = datetime(2026, 3, 2, 10, 0)
M = timedelta(minutes=1)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_one_holder_at_a_time_until_released(engine: Engine) -> None:
    a, b = new_holder(), new_holder()
    assert acquire(engine, "s", a, stale_after=60)
    assert acquire(engine, "s", a, stale_after=60)  # its own lease again
    assert not acquire(engine, "s", b, stale_after=60)
    assert acquire(engine, "other", b, stale_after=60)  # leases are per source
    assert beat(engine, "s", a, child_pid=123)
    assert not beat(engine, "s", b)
    release(engine, "s", a)
    assert acquire(engine, "s", b, stale_after=60)
    info = lease(engine, "s")
    assert info is not None and info.holder == b and info.child_pid is None


def test_a_dead_holder_of_this_host_loses_its_lease_whatever_its_heartbeat(
    engine: Engine,
) -> None:
    a = new_holder()
    assert acquire(engine, "s", a, stale_after=3600)
    with engine.begin() as conn:
        conn.execute(update(SourceLease).values(pid=dead_pid(), child_pid=None))
    assert acquire(engine, "s", new_holder(), stale_after=3600)
    assert not beat(engine, "s", a)


def test_a_live_crawl_keeps_the_lease_of_a_dead_service(engine: Engine) -> None:
    assert acquire(engine, "s", new_holder(), stale_after=0.001)
    crawl = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with engine.begin() as conn:
            conn.execute(update(SourceLease).values(pid=dead_pid(), child_pid=crawl.pid))
        assert not acquire(engine, "s", new_holder(), stale_after=0.001)
    finally:
        crawl.kill()
        crawl.wait()
    assert acquire(engine, "s", new_holder(), stale_after=0.001)


def test_another_hosts_lease_is_taken_over_only_once_its_heartbeat_is_stale(
    engine: Engine,
) -> None:
    assert acquire(engine, "s", "elsewhere:1:x", stale_after=60)
    with engine.begin() as conn:
        conn.execute(update(SourceLease).values(host="elsewhere#1", pid=1))
    assert not acquire(engine, "s", new_holder(), stale_after=60)
    with engine.begin() as conn:
        conn.execute(update(SourceLease).values(heartbeat_at=utc_now() - timedelta(seconds=120)))
    assert acquire(engine, "s", new_holder(), stale_after=60)


def test_consecutive_gaps_of_one_reason_are_one_entry_until_covered(engine: Engine) -> None:
    first = record_gap(
        engine, "s", first_slot=T0 + M, last_slot=T0 + M, periods=1, reason="disabled",
        detail="paused", now=T0, after=T0,
    )  # fmt: skip
    again = record_gap(
        engine, "s", first_slot=T0 + 2 * M, last_slot=T0 + 3 * M, periods=2, reason="disabled",
        detail="paused", now=T0, after=T0 + M,
    )  # fmt: skip
    other = record_gap(
        engine, "s", first_slot=T0 + 4 * M, last_slot=T0 + 4 * M, periods=1, reason="late",
        detail="late", now=T0, after=T0 + 3 * M,
    )  # fmt: skip
    assert first == again != other
    assert [(g.reason, g.first_slot, g.last_slot, g.periods) for g in list_gaps(engine)] == [
        ("disabled", T0 + M, T0 + 3 * M, 3),
        ("late", T0 + 4 * M, T0 + 4 * M, 1),
    ]
    with pytest.raises(ValueError, match="unknown gap reason"):
        record_gap(
            engine, "s", first_slot=T0, last_slot=T0, periods=1, reason="bad", detail=None, now=T0
        )
    job = start_scheduled_run(engine, "s", kind="catch-up", slot_at=T0 + 5 * M, now=T0, pid=1)
    assert close_gaps(engine, "s", job, T0 + 5 * M) == 2
    assert list_gaps(engine, only_open=True) == []
    assert {g.covered_by for g in list_gaps(engine)} == {job}


def test_a_running_run_beats_until_it_finishes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEMETER_HEARTBEAT_SECONDS", "0.05")
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    first = get_run(engine, run)
    assert first is not None and first.heartbeat_at is not None and run in beating_runs()
    deadline = time.monotonic() + 20
    later = first
    while later.heartbeat_at == first.heartbeat_at and time.monotonic() < deadline:
        time.sleep(0.05)
        later = get_run(engine, run) or first
    assert later.heartbeat_at != first.heartbeat_at
    finish_run(engine, run, status="ok", new=0, seen=0, flagged=0, requests=0)
    assert run not in beating_runs()


def test_another_hosts_run_with_a_stale_heartbeat_is_interrupted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEMETER_HEARTBEAT_SECONDS", "10")  # stale after 60 s
    fresh = start_run(
        engine, project="p", config_hash="h", version="0", classifiers={}, heartbeat=False
    )
    stale = start_run(
        engine, project="p", config_hash="h", version="0", classifiers={}, heartbeat=False
    )
    with engine.begin() as conn:
        conn.execute(update(CrawlRun).values(host="elsewhere#1", pid=1))
        conn.execute(
            update(CrawlRun)
            .where(CrawlRun.id == stale)
            .values(heartbeat_at=utc_now() - timedelta(seconds=90))
        )
    assert mark_interrupted(engine) == [stale]
    run = get_run(engine, stale)
    assert run is not None and run.status == INTERRUPTED
    assert run.message is not None and "its heartbeat (1 on elsewhere) stopped at" in run.message
    assert (get_run(engine, fresh) or run).status == "running"
    assert this_host() != "elsewhere#1"
