"""Retry with back-off: what is retried, how long it waits, and what is left alone."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import Backoff, BackoffRetryMiddleware, oversized, size_limit


def middleware(**settings: object) -> BackoffRetryMiddleware:
    crawler = get_crawler(settings_dict={"VEMETER_RETRY_BACKOFF_BASE": 0.01, **settings})
    return BackoffRetryMiddleware(crawler)


def test_503_is_retried_until_the_limit_then_given_up() -> None:
    mw = middleware(VEMETER_RETRY_TIMES=2)
    request = Request("http://127.0.0.1/method/wall.get")
    response = Response(request.url, status=503, request=request)
    first = asyncio.run(mw.process_response(request, response))
    assert isinstance(first, Request) and first.meta["vemeter_retries"] == 1 and first.dont_filter
    second = asyncio.run(mw.process_response(first, response))
    assert isinstance(second, Request) and second.meta["vemeter_retries"] == 2
    final = asyncio.run(mw.process_response(second, response))
    assert final is response
    assert second.meta["gave_up"] == "HTTP 503 after 3 attempts"


def test_retry_after_is_honoured() -> None:
    mw = middleware()
    assert mw._delay(1, "0.05") == 0.05
    assert 0.008 <= mw._delay(3, None) <= 0.05  # base 0.01 · 2² with ±20 % jitter


def test_ok_responses_and_ignored_requests_pass_through() -> None:
    mw = middleware()
    request = Request("http://127.0.0.1/method/wall.get")
    ok = Response(request.url, status=200, request=request)
    assert asyncio.run(mw.process_response(request, ok)) is ok
    # A stopped token or robots.txt is a decision, never retried.
    assert asyncio.run(mw.process_exception(request, IgnoreRequest("token parked"))) is None
    retried = asyncio.run(mw.process_exception(request, ConnectionRefusedError()))
    assert isinstance(retried, Request)


def test_a_retry_waits_before_it_is_sent_not_before_it_is_scheduled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    mw = middleware()
    request = Request("http://127.0.0.1/method/wall.get")
    retry = asyncio.run(
        mw.process_response(request, Response(request.url, status=503, request=request))
    )
    assert isinstance(retry, Request) and slept == []
    delay = retry.meta["retry_delay"]
    assert delay > 0
    asyncio.run(mw.process_request(retry))
    assert slept == [delay] and "retry_delay" not in retry.meta
    asyncio.run(mw.process_request(retry))  # sent once more (robots, rate limit): no new wait
    assert slept == [delay]


def test_unreadable_answers_share_the_cap_of_5xx_retries() -> None:
    backoff = Backoff(middleware(VEMETER_RETRY_TIMES=2).crawler.settings)
    request = Request("http://127.0.0.1/method/wall.get")
    request.meta["vemeter_retries"] = 1  # a 503 came first
    again, why = backoff.again(request, "answer is not whole JSON")
    assert (
        again is not None
        and again.meta["vemeter_retries"] == 2
        and why == "answer is not whole JSON"
    )
    last, why = backoff.again(again, "answer is not whole JSON")
    assert last is None and why == "answer is not whole JSON after 3 attempts"


def test_an_answer_over_the_size_limit_is_never_retried() -> None:
    mw = middleware(DOWNLOAD_MAXSIZE=2 * 1024 * 1024)
    request = Request("http://127.0.0.1/s/demo")
    assert asyncio.run(mw.process_exception(request, DownloadCancelledError("max size"))) is None
    assert request.meta["gave_up"] == "answer over the size limit of 2 MiB (DOWNLOAD_MAXSIZE)"
    assert oversized(DownloadCancelledError())
    assert oversized(IgnoreRequest("… exceeded DOWNLOAD_MAXSIZE (1 B) during decompression."))
    assert not oversized(IgnoreRequest("Forbidden by robots.txt"))
    per_request = Request("http://127.0.0.1/s/demo", meta={"download_maxsize": 512})
    assert "of 512 bytes" in size_limit(per_request, None)
