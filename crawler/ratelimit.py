"""A per-key rate limiter: at most N requests start in any one-second window, evenly spaced.

Keys are credentials (a hash of a token) for VK and OK, which limit per token or application
key, and hosts for web pages. Every request of every concurrent target that shares a key waits
here. A key may also carry a minimum interval (a robots.txt Crawl-delay): the stricter one wins.

The limit holds across processes on one machine: two crawls sharing a token share its window.
What a key has started lately lives in a small file per key under the user's cache folder
(`$VEMETER_CACHE_DIR/ratelimit`, else `$XDG_CACHE_HOME/vemeter/ratelimit`, else
`~/.cache/vemeter/ratelimit`), named by a hash of the key (never the token), read and updated
under an exclusive flock (30-60 µs per admission, measured). Each process starts a request
only while the key's window (every process's starts) holds fewer than its own rate, so the
window never holds more than the highest rate among the crawls that share the key.
Without a cache folder to write (or with a test clock), the history stays in the process.

A job of the PostgreSQL worker pool (crawler.pool_job sets VEMETER_RATELIMIT_DATABASE) keeps
the histories in the database instead (storage.buckets: a row per key, named by a SHA-256 of
the key, on the database's clock), so the limit holds across every worker on every machine.
`hold` pushes a key's next start forward (a Retry-After, a platform's back-off) for every
process that shares its history.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# Requests leave a process a little after they are admitted and reach the platform later
# still; a process that is not scheduled for a moment (a busy machine, several crawls sharing a
# token) sends an early admission late, bunching it up with later ones. The margin keeps the
# platform's own one-second count within the limit through such a delay: 0.05 s was not enough
# for two crawls on a loaded two-core machine (4 requests of a 3/s token seen in one second);
# the cost is a 3/s token at 2.6 requests per second, against a one-second pause and a lower
# rate for every "too many requests".
WINDOW_MARGIN = 0.15
WINDOW = 1.0 + WINDOW_MARGIN
# Starts a shared history keeps at most: a window check needs the last `rate` of them, and
# politeness limits are a few per second (a faster rate is checked against these only).
MAX_SHARED_STARTS = 256
# After a platform's "too many requests", every process sharing the key waits this long.
SLOW_DOWN_PAUSE = 1.0


@dataclass
class _Bucket:
    """A key's settings in this process."""

    rate: float  # math.inf: no rate of its own, only min_interval
    min_interval: float = 0.0

    @property
    def spacing(self) -> float:
        return max(1.0 / self.rate, self.min_interval)


@dataclass
class _History:
    """When a key's recent requests started (any process), and when the next one may."""

    starts: deque[float] = field(default_factory=deque)
    next_free: float = 0.0
    reason: str | None = None  # why next_free was pushed past the spacing (database store)


def cache_dir() -> Path:
    """vemeter's cache folder: $VEMETER_CACHE_DIR, else $XDG_CACHE_HOME/vemeter, else
    ~/.cache/vemeter (the same rule as the language model cache)."""
    if explicit := os.environ.get("VEMETER_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vemeter"


def _boot_id() -> str:
    """This boot of the machine: monotonic clock readings of another boot mean nothing."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


class _LocalStore:
    """Histories in this process only."""

    def __init__(self) -> None:
        self._histories: dict[str, _History] = {}

    @contextlib.contextmanager
    def open(self, key: str, clock: Callable[[], float]) -> Iterator[tuple[_History, float]]:
        yield self._histories.setdefault(key, _History()), clock()


class _SharedStore:
    """Histories in one small file per key, shared by every process of this user on the machine.

    time.monotonic() is the system-wide monotonic clock on Linux and macOS, the same in every
    process of one boot; readings of another boot (or from the future) are dropped.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._fds: dict[str, int] = {}
        self._boot = _boot_id()

    def _fd(self, key: str) -> int:
        fd = self._fds.get(key)
        if fd is None:
            name = hashlib.sha256(key.encode()).hexdigest()[:32]
            fd = os.open(self.folder / f"{name}.json", os.O_RDWR | os.O_CREAT, 0o600)
            self._fds[key] = fd
        return fd

    @contextlib.contextmanager
    def open(self, key: str, clock: Callable[[], float]) -> Iterator[tuple[_History, float]]:
        """The key's history and the time, read once its lock is held; written back after."""
        import fcntl

        fd = self._fd(key)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            now = clock()
            history = self._read(fd, now)
            before = (list(history.starts), history.next_free)
            yield history, now
            if (list(history.starts), history.next_free) != before:
                starts = list(history.starts)[-MAX_SHARED_STARTS:]
                body = json.dumps(
                    {"boot": self._boot, "starts": starts, "next": history.next_free}
                ).encode()
                os.pwrite(fd, body, 0)
                os.ftruncate(fd, len(body))
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _read(self, fd: int, now: float) -> _History:
        try:
            raw = json.loads(os.pread(fd, 65536, 0) or b"{}")
            if raw.get("boot", "") != self._boot:
                return _History()
            starts = [float(t) for t in raw.get("starts", []) if now - WINDOW < float(t) <= now + 1]
            next_free = float(raw.get("next", 0.0))
        except (ValueError, TypeError, AttributeError):
            return _History()  # an empty or damaged file: start afresh
        if not math.isfinite(next_free) or next_free > now + 3600:
            next_free = 0.0  # not from this clock
        return _History(deque(sorted(starts)), next_free)

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __del__(self) -> None:
        self.close()


class _DatabaseStore:
    """Histories in the pool's PostgreSQL database (storage.buckets): one budget per key for
    every worker on every machine, on the database's clock. If the database cannot be reached,
    the crawl warns once and limits within itself until it can."""

    def __init__(self, url: str) -> None:
        from storage.buckets import Buckets

        self._buckets = Buckets(url)
        self._fallback = _LocalStore()
        self._warned = False
        self._retry_at = 0.0  # after a failure, the database is asked again from then on

    def _failed(self, exc: Exception) -> None:
        self._retry_at = time.monotonic() + DATABASE_RETRY
        self._buckets.close()
        if not self._warned:
            log.warning("shared rate limits unavailable (%s): limiting within this crawl", exc)
            self._warned = True

    @contextlib.contextmanager
    def open(self, key: str, clock: Callable[[], float]) -> Iterator[tuple[_History, float]]:
        stack = contextlib.ExitStack()
        try:
            if time.monotonic() < self._retry_at:
                raise ConnectionError("the database failed a moment ago")
            bucket = stack.enter_context(self._buckets.locked(key))
        except Exception as exc:
            if not isinstance(exc, ConnectionError):
                self._failed(exc)
            with self._fallback.open(key, clock) as local:
                yield local
            return
        now = bucket.now
        next_free = bucket.next_free
        if not math.isfinite(next_free) or next_free > now + 3600:
            next_free = 0.0
        starts = deque(sorted(t for t in bucket.starts if now - WINDOW < t <= now + 1))
        history = _History(starts, next_free, bucket.reason)
        try:
            yield history, now
        except BaseException:
            stack.__exit__(*sys.exc_info())  # rolled back
            raise
        bucket.starts = list(history.starts)[-MAX_SHARED_STARTS:]
        bucket.next_free = history.next_free
        bucket.reason = history.reason if history.next_free > now else None
        try:
            stack.close()  # written back and committed
        except Exception as exc:
            self._failed(exc)

    def close(self) -> None:
        self._buckets.close()


# Set by a pool job (crawler.pool_job) to the project's PostgreSQL URL: limits in the database.
DATABASE_ENV = "VEMETER_RATELIMIT_DATABASE"
# Seconds a crawl limits within itself after the database failed, before asking it again.
DATABASE_RETRY = 30.0


def _default_store(folder: Path | None) -> _LocalStore | _SharedStore | _DatabaseStore:
    url = os.environ.get(DATABASE_ENV, "")
    if url.startswith("postgresql"):
        return _DatabaseStore(url)
    if sys.platform == "win32":  # pragma: no cover - no flock: limits hold per process
        return _LocalStore()
    folder = folder or cache_dir() / "ratelimit"
    try:
        return _SharedStore(folder)
    except OSError as exc:
        log.warning(
            "cannot use %s (%s): rate limits hold within this crawl only, not across crawls",
            folder,
            exc.strerror,
        )
        return _LocalStore()


class RateLimiter:
    """Admit requests per key at `rate` per second (sliding one-second window plus spacing).

    With the default clock, the history of each key is shared with the other processes of
    this machine (see the module docstring), in `folder` if given; `shared=False`, or a clock
    of a test's own, keeps it in this process.
    """

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        *,
        shared: bool | None = None,
        folder: Path | None = None,
    ) -> None:
        self._clock = clock or time.monotonic
        if shared is None:
            shared = clock is None
        self._store = _default_store(folder) if shared else _LocalStore()
        self._buckets: dict[str, _Bucket] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def shared(self) -> bool:
        return isinstance(self._store, _SharedStore | _DatabaseStore)

    def hold(self, key: str, seconds: float, reason: str | None = None) -> None:
        """Start no request of `key` for `seconds` (a Retry-After, a platform's back-off), in
        every process that shares the key's history: on PostgreSQL every worker of the pool."""
        if key not in self._buckets or not seconds > 0:
            return
        with self._store.open(key, self._clock) as (history, now):
            if now + seconds > history.next_free:
                history.next_free = now + min(seconds, 3600.0)
                history.reason = reason

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
        # Every process sharing the key pauses too: the platform counts them all.
        self.hold(key, SLOW_DOWN_PAUSE, "too many requests")
        return bucket.rate

    @staticmethod
    def _delay(bucket: _Bucket, history: _History, now: float) -> float:
        while history.starts and now - history.starts[0] >= WINDOW:
            history.starts.popleft()
        wait = max(0.0, history.next_free - now)
        if math.isfinite(bucket.rate) and len(history.starts) >= max(1, int(bucket.rate)):
            wait = max(wait, history.starts[-max(1, int(bucket.rate))] + WINDOW - now)
        return wait

    @staticmethod
    def _admit(bucket: _Bucket, history: _History, now: float) -> None:
        history.starts.append(now)
        history.next_free = max(history.next_free, now + bucket.spacing)

    def delay_for(self, key: str) -> float:
        """Seconds to wait before the next request of `key` may start (0 when it may start now)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        with self._store.open(key, self._clock) as (history, now):
            return self._delay(bucket, history, now)

    def admit(self, key: str) -> None:
        """Record that a request of `key` starts now."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return
        with self._store.open(key, self._clock) as (history, now):
            self._admit(bucket, history, now)

    def try_admit(self, key: str) -> float:
        """Admit a request of `key` if it may start now (0.0); else the seconds to wait first.

        One step under the key's lock, so that two processes never both take the last place.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        with self._store.open(key, self._clock) as (history, now):
            delay = self._delay(bucket, history, now)
            if delay <= 0:
                self._admit(bucket, history, now)
            return delay

    async def wait(self, key: str) -> float:
        """Wait until a request of `key` may start, then admit it; returns seconds waited."""
        if key not in self._buckets:
            return 0.0
        lock = self._locks.setdefault(key, asyncio.Lock())
        waited = 0.0
        async with lock:
            while (delay := self.try_admit(key)) > 0:
                waited += delay
                await asyncio.sleep(delay)
        return waited
