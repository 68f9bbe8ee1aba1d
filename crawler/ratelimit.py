"""A per-key rate limiter: at most N requests start in any one-second window, evenly spaced.

Keys are credentials (a hash of a token) for VK and OK, which limit per token or application
key, and hosts for web pages. Every request of every concurrent target that shares a key waits
here. A key may also carry a minimum interval (a robots.txt Crawl-delay): the stricter one wins.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Requests leave this process a little before the platform sees them, and network jitter can
# bunch them up again; a small margin keeps the platform's own window count within the limit.
WINDOW_MARGIN = 0.05


@dataclass
class _Bucket:
    rate: float  # math.inf: no rate of its own, only min_interval
    starts: deque[float] = field(default_factory=deque)
    next_free: float = 0.0
    min_interval: float = 0.0

    @property
    def spacing(self) -> float:
        return max(1.0 / self.rate, self.min_interval)


class RateLimiter:
    """Admit requests per key at `rate` per second (sliding one-second window plus spacing)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def set_rate(self, key: str, rate: float) -> None:
        bucket = self._buckets.setdefault(key, _Bucket(rate))
        bucket.rate = rate

    def rate(self, key: str) -> float | None:
        bucket = self._buckets.get(key)
        return bucket.rate if bucket and math.isfinite(bucket.rate) else None

    def set_min_interval(self, key: str, seconds: float) -> None:
        """Start `key`'s requests at least `seconds` apart, whatever its rate (never loosens)."""
        bucket = self._buckets.setdefault(key, _Bucket(math.inf))
        bucket.min_interval = max(bucket.min_interval, seconds)

    def min_interval(self, key: str) -> float:
        bucket = self._buckets.get(key)
        return bucket.min_interval if bucket else 0.0

    def slow_down(self, key: str, factor: float = 0.7, floor: float = 0.2) -> float:
        """Lower a key's rate after the platform said 'too many requests'; returns the new rate."""
        bucket = self._buckets.get(key)
        if bucket is None or not math.isfinite(bucket.rate):
            return 0.0
        bucket.rate = max(floor, bucket.rate * factor)
        return bucket.rate

    def delay_for(self, key: str) -> float:
        """Seconds to wait before the next request of `key` may start (0 when it may start now)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        now = self._clock()
        window = 1.0 + WINDOW_MARGIN
        while bucket.starts and now - bucket.starts[0] >= window:
            bucket.starts.popleft()
        wait = max(0.0, bucket.next_free - now)
        if math.isfinite(bucket.rate) and len(bucket.starts) >= max(1, int(bucket.rate)):
            wait = max(wait, bucket.starts[0] + window - now)
        return wait

    def admit(self, key: str) -> None:
        """Record that a request of `key` starts now."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return
        now = self._clock()
        bucket.starts.append(now)
        bucket.next_free = now + bucket.spacing

    async def wait(self, key: str) -> float:
        """Wait until a request of `key` may start, then admit it; returns seconds waited."""
        if key not in self._buckets:
            return 0.0
        lock = self._locks.setdefault(key, asyncio.Lock())
        waited = 0.0
        async with lock:
            while (delay := self.delay_for(key)) > 0:
                waited += delay
                await asyncio.sleep(delay)
            self.admit(key)
        return waited
