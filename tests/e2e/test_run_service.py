"""`vemeter run`: the real service crawls a fake VK API on its schedule, one run at a time.

The service runs as a process of its own with a scaled clock (the hidden `--tick`: a schedule
minute lasts a few real seconds), so several cycles take seconds. Every subprocess has a
timeout; the fake API is on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk_data import synthetic_scenario
from tests.e2e.conftest import Project, write_config

pytestmark = pytest.mark.e2e


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute(sql).fetchall()


def start_service(project: Project, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **project.env(), "VEMETER_HEARTBEAT_SECONDS": "0.5"}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.commands", "run", str(project.config), *args],
        cwd=project.dir, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip


def finish(service: subprocess.Popen[str], timeout: float = 90) -> tuple[int, str]:
    try:
        _, stderr = service.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(service.pid, signal.SIGKILL)
        service.communicate()
        raise
    return service.returncode, stderr


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_service_crawls_on_schedule_with_exact_counts_and_no_overlap(
    tmp_path: Path, fake_vk: Any
) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=120, seed=5, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities],
        extra="schedule: '* * * * *'",
    )  # fmt: skip
    service = start_service(project, "--tick", "3", "--poll", "0.1", "--max-runs", "3")
    code, stderr = finish(service)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    db = tmp_path / "e2e.db"
    total = sum(len(c.posts) for c in scenario.communities)
    assert query(db, "SELECT count(*), count(DISTINCT post_id) FROM posts") == [(total, total)]
    jobs = query(
        db, "SELECT id, kind, slot_at, status, run_id, started_at, finished_at "
        "FROM scheduled_runs ORDER BY id",
    )  # fmt: skip
    assert [j[3] for j in jobs] == ["ok", "ok", "ok"], jobs
    runs = query(db, "SELECT id, status, posts_new, started_at, finished_at FROM crawl_runs")
    assert [r[0] for r in runs] == [j[4] for j in jobs]  # one crawl run per scheduled run
    assert [r[1] for r in runs] == ["ok"] * 3
    assert [r[2] for r in runs] == [total, 0, 0]  # the later runs fetch only what is new
    # No two runs overlap: each started after the one before it had finished.
    for before, after in itertools.pairwise(runs):
        assert parse(after[3]) >= parse(before[4])
    for before, after in itertools.pairwise(jobs):
        assert parse(after[5]) >= parse(before[6])
    # Every minute from the first run's to the last run's is accounted for: run, or in a gap
    # (a crawl longer than a schedule minute makes the next period late: a gap, then covered).
    slots = [parse(j[2]) for j in jobs]
    assert all(b > a for a, b in itertools.pairwise(slots))
    minute = timedelta(minutes=1)
    accounted = set(slots)
    for first, last, periods, reason in query(
        db, "SELECT first_slot, last_slot, periods, reason FROM schedule_gaps"
    ):
        assert reason == "late", reason
        span = [
            parse(first) + k * minute for k in range((parse(last) - parse(first)) // minute + 1)
        ]
        assert len(span) == periods
        accounted.update(span)
    assert accounted == {slots[0] + k * minute for k in range((slots[-1] - slots[0]) // minute + 1)}
    assert query(db, "SELECT count(*) FROM schedule_gaps WHERE closed_at IS NULL") == [(0,)]
    assert all(s.second == 0 and s.microsecond == 0 for s in slots)

    status = project.run("status", str(project.config), "--format", "json")
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    (source,) = body["sources"]
    assert (source["source"], source["last_run"], source["last_status"]) == (
        "vk-test", jobs[-1][0], "ok",
    )  # fmt: skip
    assert source["open_gaps"] == 0 and source["next_run"]
    assert [r["run"] for r in body["runs"]] == [r[0] for r in reversed(runs)]


def test_sigterm_stops_the_service_and_its_running_crawl_and_records_both(
    tmp_path: Path, fake_vk: Any
) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=3000, seed=6, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities], rps=4,
        extra="schedule: '* * * * *'",
    )  # fmt: skip
    db = tmp_path / "e2e.db"
    service = start_service(project, "--tick", "1", "--poll", "0.1", "--stop-timeout", "20")
    try:
        deadline = time.monotonic() + 60
        running: list[tuple[Any, ...]] = []
        while not running and service.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                running = query(db, "SELECT id FROM crawl_runs WHERE status = 'running'")
            except sqlite3.OperationalError:  # not created yet
                running = []
        assert running, "no crawl started"
        service.send_signal(signal.SIGTERM)
        code, stderr = finish(service)
    finally:
        if service.poll() is None:
            os.killpg(service.pid, signal.SIGKILL)
            service.communicate()
    assert code == 0, stderr
    assert "vemeter run stopped: 1 run(s) started, ended: 1 stopped" in stderr
    ((status,),) = query(db, "SELECT status FROM scheduled_runs")
    assert status == "stopped"
    assert query(db, "SELECT reason, periods FROM schedule_gaps") == [("stopped", 1)]
    ((crawl_status,),) = query(db, "SELECT status FROM crawl_runs")
    assert crawl_status != "running"  # the crawl recorded its end (or was marked)
    assert query(db, "SELECT holder FROM source_leases") == [(None,)]
