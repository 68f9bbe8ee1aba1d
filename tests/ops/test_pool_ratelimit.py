"""The pool's shared rate limits in PostgreSQL (storage.buckets behind crawler.ratelimit).

Two limiters stand for two workers (each its own database connection, as two machines would
have): together they never start more than the key's rate in any one-second window, a hold
(Retry-After, a platform's back-off) by one stops the other, and the database holds only a
fingerprint of the key. Runs only with VEMETER_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from crawler.ratelimit import DATABASE_ENV, RateLimiter
from spiders.fakes.http import most_in_window
from storage.buckets import fingerprint
from tests.conftest import POSTGRES_URL
from tests.ops.pool_harness import engine_for, pg_schema

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="set VEMETER_TEST_POSTGRES_URL to run the worker-pool tests"
)

TOKEN = "a-token-that-must-never-reach-the-database-0123456789"


@pytest.fixture
def pool_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> object:
    assert POSTGRES_URL is not None
    with pg_schema(POSTGRES_URL, prefix="rl") as url:
        monkeypatch.setenv(DATABASE_ENV, url)
        monkeypatch.setenv("VEMETER_CACHE_DIR", str(tmp_path / "cache"))
        yield url


def _starts(limiter: RateLimiter, key: str, seconds: float, out: list[float]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        delay = limiter.try_admit(key)
        if delay <= 0:
            out.append(time.monotonic())
        else:
            time.sleep(min(delay, 0.05))


def test_two_workers_share_one_budget_per_key(pool_url: str) -> None:
    limiters = [RateLimiter(), RateLimiter()]
    assert all(lim.shared for lim in limiters)
    for lim in limiters:
        lim.set_rate(TOKEN, 5)
    times: list[list[float]] = [[], []]
    threads = [
        threading.Thread(target=_starts, args=(lim, TOKEN, 2.5, out))
        for lim, out in zip(limiters, times, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = times[0] + times[1]
    assert times[0] and times[1]  # both got turns
    assert 10 <= len(both) <= 5 * 2.5 + 5
    assert most_in_window(both, 1.0) <= 5

    engine: Engine = engine_for(pool_url)
    with engine.connect() as conn:
        keys = [r[0] for r in conn.execute(text("SELECT key FROM rate_buckets"))]
    engine.dispose()
    assert keys == [fingerprint(TOKEN)]
    assert TOKEN not in repr(keys)


def test_a_hold_by_one_worker_stops_every_worker(pool_url: str) -> None:
    first, second = RateLimiter(), RateLimiter()
    for lim in (first, second):
        lim.set_rate("host:example.org", 100)
    first.hold("host:example.org", 0.6, "HTTP 429 Retry-After")
    assert 0.4 < second.delay_for("host:example.org") <= 0.6
    time.sleep(0.65)
    assert second.try_admit("host:example.org") == 0


def test_slow_down_pauses_every_worker(pool_url: str) -> None:
    first, second = RateLimiter(), RateLimiter()
    for lim in (first, second):
        lim.set_rate(TOKEN, 3)
    first.slow_down(TOKEN)
    assert second.delay_for(TOKEN) > 0.5
