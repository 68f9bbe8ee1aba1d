"""The per-token rate limiter, on a fake clock."""

from __future__ import annotations

from crawler.ratelimit import WINDOW_MARGIN, RateLimiter


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
