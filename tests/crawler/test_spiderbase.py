"""The errback every platform spider shares: which status and reason each kind of failure gives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TimeoutError
from twisted.python.failure import Failure

from crawler.spiderbase import Outcome, RequestFailure, SourceSpider
from crawler.targets import ERROR, RATE_LIMITED
from spiders.telegram.rules import TelegramRules

URL = "http://127.0.0.1:8799/page"
TIMEOUT = TimeoutError()  # type: ignore[no-untyped-call]  # what Scrapy raises for a slow host


class Probe(SourceSpider[TelegramRules]):
    """The smallest spider: only the one hook every spider must fill in."""

    name = "telegram"
    rules_type = TelegramRules

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        self.finish("src", request.meta["target"], status, reason)


class StoppingProbe(Probe):
    """A spider that has stopped its token (as VK and OK do), and notes some failures only."""

    def stopped_outcome(self, failed: RequestFailure) -> Outcome | None:
        return RATE_LIMITED, "token parked"

    def failure_outcome(self, failed: RequestFailure) -> Outcome | None:
        if failed.request.meta["target"] == "demo_tg_2":
            return None
        return super().failure_outcome(failed)


def make(cls: type[Probe], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Probe:
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "unit-test-pseudonym-key-0123456789")
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: unit\nstorage: {url: 'sqlite:///unit.db'}\nsources:\n"
        "  - {name: src, platform: telegram, base_url: 'http://127.0.0.1:8799', targets: [demo_tg_1, demo_tg_2]}\n",
        encoding="utf-8",
    )
    spider = cls(config=config)
    for target in ("demo_tg_1", "demo_tg_2"):
        spider.book.add("src", target)
    return spider


def fail(
    spider: Probe, error: Exception, gave_up: str | None = None, target: str = "demo_tg_1"
) -> Any:
    request = scrapy.Request(URL, meta={"target": target})
    if gave_up:
        request.meta["gave_up"] = gave_up
    failure = Failure(error)  # type: ignore[no-untyped-call]
    failure.request = request  # type: ignore[attr-defined]  # Scrapy attaches it the same way
    spider._failed(failure)
    return next(r for r in spider.target_reports() if r.target == target)


def http(status: int) -> HttpError:
    return HttpError(HtmlResponse(URL, status=status), "Ignoring non-200 response")


@pytest.mark.parametrize(
    ("error", "gave_up", "status", "reason"),
    [
        (http(429), None, RATE_LIMITED, f"{URL}: HTTP 429"),
        (http(503), "HTTP 503 after 6 attempts", ERROR, f"{URL}: HTTP 503 after 6 attempts"),
        (http(404), None, ERROR, f"{URL}: HTTP 404"),
        (
            DNSLookupError("no such host"),
            None,
            ERROR,
            f"cannot reach {URL} (DNSLookupError: DNS lookup failed: no such host.)",
        ),
        (
            TIMEOUT,
            "TimeoutError after 6 attempts",
            ERROR,
            f"cannot reach {URL} (TimeoutError after 6 attempts)",
        ),
        (IgnoreRequest("dropped"), None, ERROR, f"cannot reach {URL} (IgnoreRequest: dropped)"),
    ],
)
def test_each_kind_of_failure_gives_its_status_and_reason(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    gave_up: str | None,
    status: str,
    reason: str,
) -> None:
    report = fail(make(Probe, tmp_path, monkeypatch), error, gave_up)
    assert (report.status, report.reason) == (status, reason)
    assert not report.complete


def test_a_stopped_token_outranks_the_answer_but_not_a_network_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = fail(make(StoppingProbe, tmp_path, monkeypatch), http(503))
    assert (stopped.status, stopped.reason) == (RATE_LIMITED, "token parked")
    unreachable = fail(make(StoppingProbe, tmp_path, monkeypatch), DNSLookupError("x"))
    assert unreachable.status == ERROR and unreachable.reason.startswith("cannot reach ")


def test_no_outcome_leaves_the_target_open_and_the_first_status_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spider = make(StoppingProbe, tmp_path, monkeypatch)
    fail(spider, http(500), target="demo_tg_2")
    assert spider.book.is_open("src", "demo_tg_2")
    fail(spider, IgnoreRequest("robots"))
    later = fail(spider, DNSLookupError("x"))
    assert (later.status, later.reason) == (RATE_LIMITED, "token parked")


def test_refused_is_only_a_request_dropped_before_sending() -> None:
    request = scrapy.Request(URL)
    for error, refused in ((IgnoreRequest("r"), True), (http(403), False), (TIMEOUT, False)):
        failure = Failure(error)  # type: ignore[no-untyped-call]
        failure.request = request  # type: ignore[attr-defined]
        assert RequestFailure.of(failure).refused is refused


@dataclass(frozen=True)
class Cursor:
    attempts: int


def test_retry_answer_counts_sends_again_and_keeps_only_the_spiders_meta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spider = make(Probe, tmp_path, monkeypatch)
    counted: list[str] = []
    stats = SimpleNamespace(inc_value=lambda key, *_: counted.append(key))
    spider.crawler = SimpleNamespace(stats=stats)  # type: ignore[assignment]
    request = scrapy.Request(URL, meta={"cursor": Cursor(0), "rate_key": "k", "retry_times": 5})
    response = HtmlResponse(URL, body=b"{}", request=request)
    again = asyncio.run(
        spider.retry_answer(response, Cursor(1), 0.0, "vemeter/x_error_6", ("cursor", "rate_key"))
    )
    assert again.url == URL and again is not request
    assert again.meta == {"cursor": Cursor(1), "rate_key": "k"}
    assert counted == ["vemeter/x_error_6"]


class RefusingProbe(Probe):
    """Like the Telegram spider: a request refused before sending is a policy, not a fault."""

    def refused_outcome(self, failed: RequestFailure) -> Outcome | None:
        return "inaccessible", "refused"


@pytest.mark.parametrize(
    "error",
    [
        DownloadCancelledError(
            "Expected to receive 9 bytes which is larger than download max size"
        ),
        IgnoreRequest("Ignored <200 x> because its body … exceeded DOWNLOAD_MAXSIZE (8 B)"),
    ],
)
def test_an_answer_over_the_size_limit_is_an_error_of_its_target_not_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    spider = make(RefusingProbe, tmp_path, monkeypatch)
    spider.crawler = SimpleNamespace(  # type: ignore[assignment]
        stats=None, settings=Settings({"DOWNLOAD_MAXSIZE": 8 * 1024 * 1024})
    )
    report = fail(spider, error)
    assert (report.status, report.reason) == (
        ERROR,
        f"{URL}: answer over the size limit of 8 MiB (DOWNLOAD_MAXSIZE)",
    )


def test_retry_unreadable_sends_the_same_request_again_until_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spider = make(Probe, tmp_path, monkeypatch)
    counted: list[str] = []
    stats = SimpleNamespace(inc_value=lambda key, *_: counted.append(key))
    spider.crawler = SimpleNamespace(  # type: ignore[assignment]
        stats=stats, settings=Settings({"VEMETER_RETRY_TIMES": 1})
    )
    request = scrapy.Request(URL, meta={"cursor": Cursor(0), "download_latency": 0.1})
    again, why = spider.retry_unreadable(HtmlResponse(URL, body=b"{", request=request), "cut")
    assert again is not None and again.url == URL and again.dont_filter
    assert again.meta["cursor"] == Cursor(0) and "download_latency" not in again.meta
    assert why == "cut" and counted == ["vemeter/unreadable_answers", "vemeter/retries"]
    last, why = spider.retry_unreadable(HtmlResponse(URL, body=b"{", request=again), "cut")
    assert last is None and why == "cut after 2 attempts"
