"""The pool's parts without a running pool: job units, connection strings, the queue schema,
the scheduler lock and the job zygote (PostgreSQL parts only with VEMETER_TEST_POSTGRES_URL)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from crawler.config import parse_config
from crawler.errors import ConfigError
from crawler.pool_job import narrowed, units_of
from storage import pool as store
from storage.buckets import conninfo
from tests.conftest import POSTGRES_URL
from tests.ops.pool_harness import engine_for, pg_schema

CONFIG = """
project: units
storage: {url: 'sqlite:///units.db'}
sources:
  - name: vk-a
    platform: vk
    targets: [club1, club2]
    searches: [hello world]
    schedule: '0 * * * *'
  - name: vk-b
    platform: vk
    targets: [club3]
"""

needs_pg = pytest.mark.skipif(
    not POSTGRES_URL, reason="set VEMETER_TEST_POSTGRES_URL to run the worker-pool tests"
)


def test_a_source_is_one_job_per_target_and_per_search(tmp_path: Path) -> None:
    cfg = parse_config(CONFIG, tmp_path / "units.yaml")
    source = cfg.source("vk-a")
    assert units_of(source) == ["club1", "club2", "search:hello world"]
    one = narrowed(cfg, "vk-a", "club2")
    (only,) = one.sources  # type: ignore[attr-defined]
    assert (only.name, only.targets, only.searches) == ("vk-a", ["club2"], [])
    search = narrowed(cfg, "vk-a", "search:hello world")
    (only,) = search.sources  # type: ignore[attr-defined]
    assert (only.targets, only.searches) == ([], ["hello world"])
    with pytest.raises(ConfigError, match="no target or search 'club9'"):
        narrowed(cfg, "vk-a", "club9")


def test_conninfo_keeps_the_search_path_and_drops_the_driver() -> None:
    url = "postgresql+psycopg://u:p%40ss@db.example.org:5433/v?options=-csearch_path%3Dt_1"
    info = conninfo(url)
    assert info.startswith("postgresql://u:p%40ss@db.example.org:5433/v?")
    assert "search_path" in info


def test_a_zygote_forks_a_job_and_reports_its_exit_code(tmp_path: Path) -> None:
    from crawler.pool_zygote import Zygote

    async def run() -> tuple[int, int]:
        zygote = Zygote()
        try:
            job = await zygote.start(["only-one-argument"], {}, tmp_path / "out.log")
            assert zygote.busy
            code = await job.wait()
            await asyncio.sleep(0.05)
            return job.pid, code
        finally:
            zygote.close()

    pid, code = asyncio.run(run())
    assert pid > 0 and code == 2  # pool_job's usage error, from the forked child
    assert "usage: python -m crawler.pool_job" in (tmp_path / "out.log").read_text()


@needs_pg
def test_the_queue_schema_is_applied_once_by_workers_starting_together() -> None:
    assert POSTGRES_URL is not None
    from procrastinate.schema import SchemaManager

    with pg_schema(POSTGRES_URL, prefix="units") as url:
        engines = [engine_for(url) for _ in range(3)]
        applied: list[bool] = []
        errors: list[BaseException] = []

        def ensure(engine: object) -> None:
            try:
                applied.append(store.ensure_queue_schema(engine, SchemaManager.get_schema(), "x"))  # type: ignore[arg-type]
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=ensure, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sorted(applied) == [False, False, True]
        assert store.queue_schema_present(engines[0])
        assert store.queue_schema_version(engines[0]) == "x"
        for e in engines:
            e.dispose()


@needs_pg
def test_one_worker_at_a_time_holds_the_scheduler_lock() -> None:
    assert POSTGRES_URL is not None
    with pg_schema(POSTGRES_URL, prefix="units") as url:
        first, second = engine_for(url), engine_for(url)
        a, b = store.SchedulerLock(first), store.SchedulerLock(second)
        assert a.take()
        assert a.take()  # kept
        assert not b.take()
        a.release()  # as when its worker dies: the session ends
        assert b.take()
        assert not a.take()
        b.release()
        first.dispose()
        second.dispose()


def test_without_its_database_a_pool_crawl_limits_within_itself(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from crawler.ratelimit import DATABASE_ENV, RateLimiter

    monkeypatch.setenv(
        DATABASE_ENV, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    limiter = RateLimiter()
    limiter.set_rate("tok", 2)
    assert limiter.try_admit("tok") == 0
    assert 0.4 < limiter.try_admit("tok") <= 0.5  # spaced as without a database
    assert "shared rate limits unavailable" in caplog.text
