"""Retry with back-off: what is retried, how long it waits, and what is left alone."""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import BackoffRetryMiddleware


def middleware(**settings: object) -> BackoffRetryMiddleware:
    crawler = get_crawler(settings_dict={"VEMETER_RETRY_BACKOFF_BASE": 0.01, **settings})
    return BackoffRetryMiddleware(crawler)


def test_503_is_retried_until_the_limit_then_given_up() -> None:
    mw = middleware(VEMETER_RETRY_TIMES=2)
    request = Request("http://127.0.0.1/method/wall.get")
    response = Response(request.url, status=503, request=request)
    first = asyncio.run(mw.process_response(request, response))
    assert isinstance(first, Request) and first.meta["retry_times"] == 1 and first.dont_filter
    second = asyncio.run(mw.process_response(first, response))
    assert isinstance(second, Request) and second.meta["retry_times"] == 2
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
