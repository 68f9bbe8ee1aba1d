"""The per-token rate limiter, on a fake clock, and shared by processes of one machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.ratelimit import WINDOW_MARGIN, RateLimiter

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def simulate(limiter: RateLimiter, clock: Clock, key: str, n: int) -> list[float]:
    """Start n requests as early as the limiter allows; returns their start times."""
    starts = []
    for _ in range(n):
        while (delay := limiter.delay_for(key)) > 0:
            clock.now += delay
        limiter.admit(key)
        starts.append(clock.now)
    return starts


def max_in_window(starts: list[float], window: float = 1.0) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


def test_never_more_than_rate_in_any_second() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limiter.set_rate("tok", 3)
    starts = simulate(limiter, clock, "tok", 30)
    assert max_in_window(starts) == 3
    # and it is not needlessly slow: 30 requests in about 10 seconds
    assert starts[-1] - starts[0] < 10 * (1 + WINDOW_MARGIN) + 0.5


def test_keys_are_independent_and_unknown_keys_are_free() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limiter.set_rate("a", 1)
    limiter.admit("a")
    assert limiter.delay_for("a") > 0
    assert limiter.delay_for("b") == 0


def test_slow_down_lowers_rate_with_a_floor() -> None:
    limiter = RateLimiter(Clock())
    limiter.set_rate("tok", 3)
    assert limiter.slow_down("tok") == 3 * 0.7
    for _ in range(20):
        limiter.slow_down("tok")
    assert limiter.rate("tok") == 0.2


def race(limiters: list[RateLimiter], clock: Clock, key: str, each: int) -> list[float]:
    """Limiters take turns starting requests as early as each allows; all start times."""
    starts = []
    for _ in range(each):
        for limiter in limiters:
            while (delay := limiter.try_admit(key)) > 0:
                clock.now += delay
            starts.append(clock.now)
    return starts


@pytest.mark.parametrize("shared", [True, False])
def test_limiters_sharing_a_folder_share_one_window(tmp_path: Path, shared: bool) -> None:
    """Two crawls' limiters (here on one clock) hold one key's rate together, not each."""
    clock = Clock()
    limiters = [RateLimiter(clock, shared=shared, folder=tmp_path) for _ in range(2)]
    for limiter in limiters:
        limiter.set_rate("vk:abc", 3)
    starts = race(limiters, clock, "vk:abc", 15)
    assert max_in_window(starts) == (3 if shared else 6)
    if shared:  # the file is named by a hash of the key, never the key (a token's hash)
        assert [p.name for p in tmp_path.iterdir()] != [] and not any(
            "abc" in p.name for p in tmp_path.iterdir()
        )


def test_a_stricter_crawl_waits_for_what_a_laxer_one_started(tmp_path: Path) -> None:
    clock = Clock()
    strict, lax = (RateLimiter(clock, shared=True, folder=tmp_path) for _ in range(2))
    strict.set_rate("k", 2)
    lax.set_rate("k", 10)
    for _ in range(5):
        lax.try_admit("k")
    # Five starts in this window: the strict one waits for the window to clear below its 2.
    assert strict.try_admit("k") > 0


def test_a_damaged_or_foreign_history_file_is_started_afresh(tmp_path: Path) -> None:
    clock = Clock()
    limiter = RateLimiter(clock, shared=True, folder=tmp_path)
    limiter.set_rate("k", 1)
    assert limiter.try_admit("k") == 0
    (path,) = tmp_path.iterdir()
    path.write_text("{not json", encoding="utf-8")
    assert limiter.try_admit("k") == 0
    path.write_text('{"boot": "another boot", "starts": [100.0], "next": 1e9}', encoding="utf-8")
    assert limiter.try_admit("k") == 0


# A process of its own: imports the limiter, waits for "go", starts N requests of one key as
# fast as the limiter allows and prints the monotonic time of each start (system-wide on Linux).
_CLIENT = """
import asyncio, sys, time
from pathlib import Path
from crawler.ratelimit import RateLimiter
folder, rate, n = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
limiter = RateLimiter(folder=folder)
limiter.set_rate("vk:shared-token", rate)
sys.stdin.readline()
async def run():
    for _ in range(n):
        await limiter.wait("vk:shared-token")
        print(time.monotonic(), flush=True)
asyncio.run(run())
"""


def test_two_processes_sharing_a_key_stay_within_its_rate(tmp_path: Path) -> None:
    rate, each = 4, 8
    command = [sys.executable, "-c", _CLIENT, str(tmp_path), str(rate), str(each)]
    clients = [
        subprocess.Popen(
            command, cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        for c in clients:
            assert c.stdin is not None
            c.stdin.write("go\n")
            c.stdin.flush()
        outputs = [c.communicate(timeout=60)[0] for c in clients]
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
    starts = [float(line) for out in outputs for line in out.split()]
    assert len(starts) == 2 * each
    assert max_in_window(starts) <= rate
