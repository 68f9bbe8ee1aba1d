"""robots.txt Crawl-delay: read per host for our user agent, capped, and enforced as host spacing."""

from __future__ import annotations

import asyncio
import logging
from itertools import pairwise

import pytest
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler

from crawler.middlewares import MAX_CRAWL_DELAY, RateLimitMiddleware, RobotsTxtMiddleware
from crawler.ratelimit import RateLimiter
from crawler.settings import USER_AGENT
from tests.crawler.test_ratelimit import Clock, simulate

HOST = "news.example.kg"


def crawler_for(platform: str) -> Crawler:
    spider_cls: type[Spider] = type(f"{platform}Spider", (Spider,), {"name": platform})
    crawler = get_crawler(spider_cls, {"ROBOTSTXT_OBEY": True, "USER_AGENT": USER_AGENT})
    crawler.spider = spider_cls.from_crawler(crawler)
    return crawler


def checked(mw: RobotsTxtMiddleware, robots: str, path: str = "/a", **meta: object) -> Request:
    """A request to HOST after the robots middleware has checked it against `robots`."""
    request = Request(f"https://{HOST}{path}", meta=dict(meta))
    mw.process_request_2(ProtegoRobotParser(robots.encode(), None), request)
    return request


@pytest.mark.parametrize(
    ("robots", "expected"),
    [
        ("User-agent: *\nCrawl-delay: 1.5\n", 1.5),
        # A group naming our agent wins over `*`.
        ("User-agent: *\nCrawl-delay: 1\n\nUser-agent: vemeter\nCrawl-delay: 4\n", 4.0),
        ("User-agent: otherbot\nCrawl-delay: 9\n", None),
        ("User-agent: *\nDisallow: /private/\n", None),
        ("User-agent: *\nCrawl-delay: 0\n", None),
    ],
)
def test_crawl_delay_for_our_agent_goes_into_the_request(
    robots: str, expected: float | None
) -> None:
    mw = RobotsTxtMiddleware(crawler_for("web"))
    assert checked(mw, robots).meta.get("crawl_delay") == expected


def test_disallowed_pages_are_still_refused() -> None:
    mw = RobotsTxtMiddleware(crawler_for("web"))
    with pytest.raises(IgnoreRequest):
        checked(mw, "User-agent: *\nCrawl-delay: 2\nDisallow: /private/\n", "/private/x")


def test_api_platforms_do_not_take_crawl_delay() -> None:
    for platform in ("vk", "ok"):
        mw = RobotsTxtMiddleware(crawler_for(platform))
        assert "crawl_delay" not in checked(mw, "User-agent: *\nCrawl-delay: 5\n").meta
    telegram = RobotsTxtMiddleware(crawler_for("telegram"))
    assert checked(telegram, "User-agent: *\nCrawl-delay: 5\n").meta["crawl_delay"] == 5.0


def test_huge_crawl_delay_is_capped_with_one_warning_per_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crawler = crawler_for("web")
    mw = RobotsTxtMiddleware(crawler)
    robots = "User-agent: *\nCrawl-delay: 3600\n"
    with caplog.at_level(logging.INFO, logger="crawler.middlewares"):
        first = checked(mw, robots, "/a", rate_per_second=1)
        second = checked(mw, robots, "/b", rate_per_second=1)
    assert first.meta["crawl_delay"] == second.meta["crawl_delay"] == MAX_CRAWL_DELAY
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith(f"{HOST}: robots.txt asks a Crawl-delay of 3600 s; capped at 60 s")
    assert "requests_per_second to 0.000278 or lower" in lines[0]
    assert crawler.stats is not None
    assert crawler.stats.get_value(f"vemeter/crawl_delay/{HOST}") == MAX_CRAWL_DELAY


def test_the_cap_is_a_setting() -> None:
    crawler = crawler_for("web")
    crawler.settings.frozen = False
    crawler.settings.set("VEMETER_CRAWL_DELAY_MAX", 600)
    mw = RobotsTxtMiddleware(crawler)
    assert checked(mw, "User-agent: *\nCrawl-delay: 3600\n").meta["crawl_delay"] == 600


def test_note_says_whether_the_delay_slows_the_source(caplog: pytest.LogCaptureFixture) -> None:
    robots = "User-agent: *\nCrawl-delay: 2\n"
    with caplog.at_level(logging.INFO, logger="crawler.middlewares"):
        checked(RobotsTxtMiddleware(crawler_for("web")), robots, rate_per_second=4)
        checked(RobotsTxtMiddleware(crawler_for("web")), robots, rate_per_second=0.1)
    slower, within = caplog.records
    assert slower.levelno == logging.WARNING
    assert "one request every 2 s to this host (the source asks for requests_per_second: 4)" in (
        slower.getMessage()
    )
    assert within.levelno == logging.INFO and "within requests_per_second" in within.getMessage()


def rate_middleware(clock: Clock) -> RateLimitMiddleware:
    mw = RateLimitMiddleware(crawler_for("web"))
    mw.limiter = RateLimiter(clock)
    return mw


@pytest.mark.parametrize(("rate", "crawl_delay", "spacing"), [(4, 2.0, 2.0), (4, 0.1, 0.25)])
def test_the_stricter_of_rate_and_crawl_delay_spaces_the_host(
    rate: float, crawl_delay: float, spacing: float
) -> None:
    clock = Clock()
    mw = rate_middleware(clock)
    key = f"web:{HOST}"
    meta = {"rate_key": key, "rate_per_second": rate, "crawl_delay": crawl_delay}
    asyncio.run(mw.process_request(Request(f"https://{HOST}/a", meta=meta)))
    # The next request to the host, from any target, waits this long.
    assert mw.limiter.delay_for(key) == pytest.approx(spacing)


def test_crawl_delay_applies_without_a_rate_of_the_source() -> None:
    clock = Clock()
    mw = rate_middleware(clock)
    meta = {"rate_key": None, "rate_per_second": 0, "crawl_delay": 0.5}
    asyncio.run(mw.process_request(Request(f"https://{HOST}/a", meta=meta)))
    assert mw.limiter.delay_for(f"robots:{HOST}") == pytest.approx(0.5)
    assert mw.limiter.delay_for(f"robots:other.{HOST}") == 0  # other hosts are not held


def test_limiter_min_interval_never_loosens_and_needs_no_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    limiter.set_min_interval("host", 0.5)
    limiter.set_min_interval("host", 0.2)
    assert limiter.min_interval("host") == 0.5 and limiter.rate("host") is None
    starts = simulate(limiter, clock, "host", 5)
    assert [round(b - a, 9) for a, b in pairwise(starts)] == [0.5] * 4
    limiter.set_rate("host", 10)  # a rate set later keeps the interval
    more = simulate(limiter, clock, "host", 3)
    assert [round(b - a, 9) for a, b in pairwise(more)] == [0.5] * 2
