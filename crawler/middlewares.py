"""Downloader middlewares: rate limits, robots.txt (with Crawl-delay), and retries with back-off.

Scrapy's own RetryMiddleware retries at once; platforms that answer 429 or 5xx want the client
to slow down, so this one waits (honouring Retry-After) before each new attempt. A spider that
gets an answer it cannot read (cut off mid-body, not JSON) asks again through the same back-off
and the same cap (`Backoff.again`): the wait happens here, before the request is sent. An answer
over the size limit (DOWNLOAD_MAXSIZE) is never retried: it would be as large the next time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.ratelimit import RateLimiter

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 522, 524})
# Official APIs publish per-token limits, which their spiders pace by; an API host's robots.txt
# speaks to crawlers of its pages, so its Crawl-delay is not applied to API calls.
API_PLATFORMS = frozenset({"vk", "ok"})
# A robots.txt asking for more than this (a typo, or a wish not to be crawled at all) would stall
# the crawl for hours; a source's own requests_per_second can still be set as low as it asks.
MAX_CRAWL_DELAY = 60.0


class RateLimitMiddleware:
    """Hold each request until its `rate_key` (meta) may start another request."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.limiter = RateLimiter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RateLimitMiddleware:
        mw = cls(crawler)
        crawler.rate_limiter = mw.limiter  # type: ignore[attr-defined]
        return mw

    async def process_request(self, request: Request) -> None:
        blocked = getattr(self.crawler.spider, "blocked_reason", None)
        if blocked is not None and (reason := blocked(request)):
            raise IgnoreRequest(reason)
        key = request.meta.get("rate_key")
        crawl_delay = request.meta.get("crawl_delay")
        if crawl_delay:
            # The host's spacing, shared by every request to it; without a rate of its own
            # (requests_per_second: 0) the request still waits on a key of its host.
            key = key or f"robots:{urlparse_cached(request).netloc.lower()}"
        if key is None:
            return
        rate = request.meta.get("rate_per_second")
        if rate and self.limiter.rate(key) is None:
            self.limiter.set_rate(key, float(rate))
        if crawl_delay:
            self.limiter.set_min_interval(key, float(crawl_delay))
        waited = await self.limiter.wait(key)
        if waited and self.crawler.stats:
            self.crawler.stats.inc_value("vemeter/rate_limit_wait_ms", int(waited * 1000))


# Meta keys a retried request leaves behind: Scrapy's own, which must start afresh.
_SCRAPY_META = ("download_latency", "download_slot")
RETRY_DELAY = "retry_delay"  # meta: seconds to wait before sending (set by Backoff.again)
# meta: attempts so far. Not Scrapy's `retry_times`, which a spider may not hand on to a request
# it yields (Scrapy warns); spiders resend unreadable answers through Backoff.again too.
RETRIES = "vemeter_retries"


def oversized(error: BaseException) -> bool:
    """An answer cut off for being over DOWNLOAD_MAXSIZE (as sent, or once decompressed)."""
    if isinstance(error, DownloadCancelledError):  # Scrapy cancels a download only for its size
        return True
    return isinstance(error, IgnoreRequest) and "DOWNLOAD_MAXSIZE" in str(error)


def size_limit(request: Request, settings: BaseSettings | None) -> str:
    """`over the N MB size limit`, in words for a target's reason."""
    limit = request.meta.get("download_maxsize")
    if limit is None and settings is not None:
        limit = settings.getint("DOWNLOAD_MAXSIZE", 0)
    if not limit:
        return "answer over the size limit (DOWNLOAD_MAXSIZE)"
    return f"answer over the size limit of {_size(int(limit))} (DOWNLOAD_MAXSIZE)"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    return f"{n / 1024:g} KiB" if n >= 1024 else f"{n} bytes"


class Backoff:
    """How often and after how long a request that got no usable answer is sent again.

    One count per request (meta `vemeter_retries`) whatever went wrong: a 503, a reset connection
    and a body cut off mid-JSON all use up the same VEMETER_RETRY_TIMES.
    """

    def __init__(self, settings: BaseSettings | None = None) -> None:
        get_int = settings.getint if settings is not None else (lambda _k, d: d)
        get_float = settings.getfloat if settings is not None else (lambda _k, d: d)
        self.max_retries: int = get_int("VEMETER_RETRY_TIMES", 5)
        self.base: float = get_float("VEMETER_RETRY_BACKOFF_BASE", 1.0)
        self.cap: float = get_float("VEMETER_RETRY_BACKOFF_MAX", 60.0)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(self.cap, max(0.0, float(retry_after)))
            except ValueError:
                pass
        backoff: float = min(self.cap, self.base * 2 ** (attempt - 1))
        return backoff * (0.8 + 0.4 * random.random())

    def again(
        self, request: Request, why: str, retry_after: str | None = None
    ) -> tuple[Request | None, str]:
        """The request to send next (waiting `retry_delay` first), or None past the cap; and why.

        Past the cap the reason says how many attempts were made (also in meta `gave_up`).
        """
        attempt = int(request.meta.get(RETRIES, 0)) + 1
        if attempt > self.max_retries or request.meta.get("dont_retry"):
            request.meta["gave_up"] = f"{why} after {attempt} attempts"
            return None, request.meta["gave_up"]
        meta = {k: v for k, v in request.meta.items() if k not in _SCRAPY_META}
        meta[RETRIES] = attempt
        meta[RETRY_DELAY] = self.delay(attempt, retry_after)
        log.info(
            "retrying %s (%s) in %.1fs, attempt %d",
            request.url.split("?")[0],
            why,
            meta[RETRY_DELAY],
            attempt,
        )
        return request.replace(dont_filter=True, meta=meta), why


class BackoffRetryMiddleware:
    """Retry 429, 5xx and network errors with exponential back-off and Retry-After."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.backoff = Backoff(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    @property
    def max_retries(self) -> int:
        return self.backoff.max_retries

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        return self.backoff.delay(attempt, retry_after)

    async def process_request(self, request: Request) -> None:
        """Wait out the back-off of a retried request before it is sent (and rate-limited)."""
        delay = request.meta.pop(RETRY_DELAY, None)
        if delay:
            await asyncio.sleep(float(delay))

    async def _retry(
        self, request: Request, why: str, retry_after: str | None = None
    ) -> Request | None:
        retry, _ = self.backoff.again(request, why, retry_after)
        if retry is not None and self.crawler.stats:
            self.crawler.stats.inc_value("vemeter/retries")
        return retry

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in RETRY_STATUSES:
            return response
        retry_after = response.headers.get("Retry-After")
        wait = retry_after.decode() if retry_after else None
        limiter = getattr(self.crawler, "rate_limiter", None)
        key = request.meta.get("rate_key")
        if wait and limiter is not None and key:
            # The platform asked this key to wait: every crawl sharing the key waits (on a
            # PostgreSQL pool, every worker), not just this request.
            limiter.hold(key, self.backoff.delay(1, wait), f"HTTP {response.status} Retry-After")
        new = await self._retry(request, f"HTTP {response.status}", wait)
        return new or response

    async def process_exception(self, request: Request, exception: Exception) -> Any:
        if oversized(exception):
            # As large the next time: recorded as the target's problem, never retried.
            request.meta["gave_up"] = size_limit(request, self.crawler.settings)
            return None
        if isinstance(exception, IgnoreRequest):
            return None  # a decision (robots.txt, a stopped token), not a network failure
        return await self._retry(request, type(exception).__name__)


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fixed for requests that wait on a host's first fetch.

    In Scrapy 2.19 every request to a new host awaits one Deferred for its robots.txt, and only
    the first awaiter receives the parser; the others get None, read as "no robots.txt", and go
    out unchecked. The parser is cached before the Deferred fires, so read it from there.

    It also reads the host's Crawl-delay for our user agent (or `*`) into the request's
    `crawl_delay` meta, capped at VEMETER_CRAWL_DELAY_MAX seconds; RateLimitMiddleware, which
    runs after it, spaces the host's requests at least that far apart.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_crawl_delay = crawler.settings.getfloat("VEMETER_CRAWL_DELAY_MAX", MAX_CRAWL_DELAY)
        self.crawl_delays: dict[str, float] = {}  # netloc -> delay applied, noted once each

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        super().process_request_2(rp, request)  # raises IgnoreRequest when disallowed
        spider = self.crawler.spider
        if rp is None or (spider is not None and spider.name in API_PLATFORMS):
            return
        useragent = self._robotstxt_useragent or request.headers.get(
            b"User-Agent", self._default_useragent
        )
        asked = rp.crawl_delay(useragent or self._default_useragent)
        if asked is None or not asked > 0:  # also refuses NaN
            return
        delay = min(asked, self.max_crawl_delay)
        request.meta["crawl_delay"] = delay
        netloc = urlparse_cached(request).netloc.lower()
        if netloc not in self.crawl_delays:
            self.crawl_delays[netloc] = delay
            self._note(netloc, asked, delay, request.meta.get("rate_per_second"))

    def _note(self, netloc: str, asked: float, delay: float, rate: float | None) -> None:
        if self._stats:
            self._stats.set_value(f"vemeter/crawl_delay/{netloc}", delay)
        if asked > delay:
            log.warning(
                "%s: robots.txt asks a Crawl-delay of %g s; capped at %g s (to honour it in "
                "full, set the source's requests_per_second to %.3g or lower)",
                netloc,
                asked,
                delay,
                1 / asked,
            )
        elif not rate or delay > 1 / float(rate):
            # Slower than the source asked for: say why the crawl of this host takes longer.
            asked_for = f"requests_per_second: {float(rate):g}" if rate else "no rate limit"
            log.warning(
                "%s: robots.txt Crawl-delay %g s: at most one request every %g s to this host "
                "(the source asks for %s)",
                netloc,
                delay,
                delay,
                asked_for,
            )
        else:
            log.info("%s: robots.txt Crawl-delay %g s (within requests_per_second)", netloc, delay)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is None:
            cached = self._parsers.get(urlparse_cached(request).netloc)
            if cached is not None and not isinstance(cached, Deferred):
                return cached
        return parser
