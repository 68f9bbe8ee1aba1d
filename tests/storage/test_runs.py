"""Run records know their process: a run whose process is gone is marked interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, update

from storage.engine import SCHEMA_HEAD, make_engine, upgrade, utc_now
from storage.models import CrawlRun
from storage.runs import (
    INTERRUPTED,
    RUNNING,
    finish_run,
    get_run,
    mark_interrupted,
    process_alive,
    start_run,
    this_host,
)
from storage.writer import PostWriter
from tests.storage.test_storage import record


def new_run(engine: Engine) -> int:
    return start_run(engine, project="p", config_hash="h", version="0", classifiers={})


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def set_process(engine: Engine, run_id: int, pid: int | None, host: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(pid=pid, host=this_host() if host is None else host)
        )


def test_a_run_records_its_process_and_host(engine: Engine) -> None:
    run = get_run(engine, new_run(engine))
    assert run is not None and run.status == RUNNING
    assert (run.pid, run.host) == (os.getpid(), this_host())


def test_the_next_run_marks_a_run_whose_process_is_gone_interrupted(engine: Engine) -> None:
    killed = new_run(engine)
    PostWriter(engine, killed).write([record(1, flagged=True), record(2), record(3, flagged=True)])
    set_process(engine, killed, dead_pid())
    alive = new_run(engine)  # this process: still running
    elsewhere = new_run(engine)
    set_process(engine, elsewhere, dead_pid(), host="another-host")
    legacy = new_run(engine)  # recorded before migration 0007: no pid
    set_process(engine, legacy, None, host="")
    done = new_run(engine)
    set_process(engine, done, dead_pid())
    finish_run(engine, done, status="ok", new=0, seen=0, flagged=0, requests=1)

    new_run(engine)  # the next run looks first

    run = get_run(engine, killed)
    assert run is not None
    assert (run.status, run.posts_new, run.posts_flagged) == (INTERRUPTED, 3, 2)
    assert run.message is not None and "3 posts stored before it stopped" in run.message
    assert run.finished_at is None  # when it died is not known
    statuses = {
        i: (r.status if (r := get_run(engine, i)) else None)
        for i in (alive, elsewhere, legacy, done)
    }
    assert statuses == {alive: RUNNING, elsewhere: RUNNING, legacy: RUNNING, done: "ok"}
    assert mark_interrupted(engine) == []  # nothing left to mark


def test_a_run_finishing_after_all_keeps_its_real_status(engine: Engine) -> None:
    run_id = new_run(engine)
    set_process(engine, run_id, dead_pid())
    assert mark_interrupted(engine) == [run_id]
    finish_run(engine, run_id, status="ok", new=1, seen=0, flagged=0, requests=1)
    run = get_run(engine, run_id)
    assert run is not None and run.status == "ok"


def test_process_alive_tells_killed_reaped_and_reused_pids_apart() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(dead_pid())
    assert not process_alive(0) and not process_alive(-1)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
        if sys.platform.startswith("linux"):
            assert not process_alive(child.pid)  # a zombie is gone
    finally:
        child.kill()
        child.wait()
    if sys.platform.startswith("linux"):
        # This process started after a run recorded an hour ago: that run's pid was reused.
        assert not process_alive(os.getpid(), utc_now() - timedelta(hours=1))
        assert process_alive(os.getpid(), utc_now())


def test_migration_0007_adds_the_process_columns_to_existing_runs(tmp_path: Path) -> None:
    from alembic import command

    from storage.engine import _alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        cfg = _alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.exec_driver_sql(
            "INSERT INTO crawl_runs (id, project, config_hash, vemeter_version, classifiers, "
            "started_at, status, posts_new, posts_seen, posts_flagged, requests) "
            "VALUES (1, 'p', 'h', '0', '{}', '2025-01-01', 'running', 0, 0, 0, 0)"
        )
    assert upgrade(engine) == ("0006", SCHEMA_HEAD)
    run = get_run(engine, 1)
    assert run is not None and (run.pid, run.host, run.status) == (None, None, RUNNING)
    assert mark_interrupted(engine) == []  # no process recorded: never guessed dead
    engine.dispose()


def test_a_gone_run_is_marked_once(engine: Engine) -> None:
    run_id = new_run(engine)
    set_process(engine, run_id, dead_pid())
    assert [mark_interrupted(engine), mark_interrupted(engine)] == [[run_id], []]
