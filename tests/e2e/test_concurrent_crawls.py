"""Crawls running at once, and crawls killed: rate limits shared, killed runs marked interrupted.

Each crawl here is a real `python -m crawler.commands` process of its own (the launcher runs
one crawl at a time); the rate-limit history lives in a cache folder of the test's own.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk_data import synthetic_scenario
from tests.e2e.conftest import KEY, TOKEN, Project, write_config

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def start_crawl(project: Project, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **project.env(), "VEMETER_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.commands", "crawl", str(project.config)], cwd=project.dir,
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a kill reaches its writer process too
    )  # fmt: skip


def finish(process: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, stderr


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute(sql).fetchall()


def test_two_crawls_sharing_a_token_keep_its_limit_and_a_new_database(
    tmp_path: Path, fake_vk: Any
) -> None:
    """Started together on a missing SQLite file: neither crashes, every post is stored once,
    and the fake API never sees more than the token's 3 requests in any one second."""
    scenario = synthetic_scenario(
        communities=3, posts_per_community=300, seed=11, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities], rps=3
    )
    crawls = [start_crawl(project, tmp_path / "cache") for _ in range(2)]
    results = [finish(c) for c in crawls]
    for code, stderr in results:
        assert code == 0, stderr
        assert "Traceback" not in stderr
    assert len(server.request_log) >= 20  # both crawled: one alone makes about a dozen requests
    worst = server.max_requests_in_window(TOKEN, window=1.0)
    print(f"max requests of the shared token in any 1-s window: {worst}")
    assert worst <= 3
    db = tmp_path / "e2e.db"
    total = sum(len(c.posts) for c in scenario.communities)
    assert query(db, "SELECT count(*), count(DISTINCT post_id) FROM posts") == [(total, total)]
    assert query(db, "SELECT status FROM crawl_runs") == [("ok",), ("ok",)]


def test_a_killed_crawl_is_marked_interrupted_with_what_it_stored(
    tmp_path: Path, fake_vk: Any
) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=2000, seed=12, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(
        tmp_path,
        server.api_base,
        [c.screen_name for c in scenario.communities],
        rps=4,
        extra="",
    )
    db = tmp_path / "e2e.db"
    crawl = start_crawl(project, tmp_path / "cache")
    try:
        deadline = time.monotonic() + 120
        stored = 0
        while stored < 200 and crawl.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if db.exists():
                try:
                    stored = query(db, "SELECT count(*) FROM posts")[0][0]
                except sqlite3.OperationalError:  # the schema is being created
                    stored = 0
        assert crawl.poll() is None, "the crawl ended before it could be killed"
        assert stored >= 200
        assert query(db, "SELECT status FROM crawl_runs") == [("running",)]
    finally:
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.communicate()

    status = project.run("status", str(project.config), "--format", "json")
    assert status.returncode == 0, status.stderr
    assert "Marked 1 run(s) interrupted" in status.stderr
    (run,) = query(db, "SELECT id, status, posts_new, posts_flagged, message FROM crawl_runs")
    posts, flagged = query(
        db, f"SELECT count(*), coalesce(sum(flagged), 0) FROM posts WHERE run_id = {run[0]}"
    )[0]
    assert run[1:4] == ("interrupted", posts, flagged)
    assert posts >= 200 and "interrupted: its process" in run[4]

    # The next crawl fetches what the killed one missed; the killed run stays interrupted.
    code, stderr = finish(start_crawl(project, tmp_path / "cache"))
    assert code == 0, stderr
    total = sum(len(c.posts) for c in scenario.communities)
    assert query(db, "SELECT count(*) FROM posts") == [(total,)]
    assert query(db, "SELECT status FROM crawl_runs ORDER BY id") == [("interrupted",), ("ok",)]


def test_a_changed_pseudonym_key_is_refused_until_a_rekey(tmp_path: Path, fake_vk: Any) -> None:
    """Crawl with key A; key B is refused before anything is stored; after `db rekey`, B crawls."""
    scenario = synthetic_scenario(
        communities=2, posts_per_community=150, seed=13, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, [c.screen_name for c in scenario.communities])
    db = tmp_path / "e2e.db"
    first = project.crawl()
    assert first.returncode == 0, first.stderr
    before = query(db, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM crawl_runs)")
    requests = len(server.request_log)

    key_b = {"VEMETER_PSEUDONYM_KEY": "another-key-" + "b" * 32}
    refused = project.crawl("--full", env=key_b)
    assert refused.returncode == 1
    (line,) = [ln for ln in refused.stderr.splitlines() if ln.startswith("Error:")]
    assert "is not this database's key" in line and "vemeter db rekey" in line
    assert KEY not in refused.stderr and key_b["VEMETER_PSEUDONYM_KEY"] not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert query(db, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM crawl_runs)") == (
        before
    )
    assert len(server.request_log) == requests  # refused before the first request

    rekey = project.run("db", "rekey", str(project.config), env=key_b)
    assert rekey.returncode == 0, rekey.stderr
    assert "key period 2 starts now" in rekey.stderr
    again = project.crawl("--full", env=key_b)
    assert again.returncode == 0, again.stderr
    # Key A is now the old period's: refused too, and named as such.
    old = project.crawl()
    assert old.returncode == 1 and "earlier key period 1" in old.stderr
    stored = query(db, "SELECT value FROM settings")
    assert all(KEY not in v and key_b["VEMETER_PSEUDONYM_KEY"] not in v for (v,) in stored)
