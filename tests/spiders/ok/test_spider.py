"""The OK spider's paging and error decisions, fed canned responses (no network, no reactor)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.http import FormRequest, TextResponse

from crawler.config import parse_config
from crawler.errors import SecretMissing
from crawler.items import PostItem
from crawler.targets import ERROR, INACCESSIBLE, LAYOUT_CHANGED, OK, RATE_LIMITED
from spiders.fakes.ok_data import NOW_MS, FakeTopic
from spiders.ok.spider import Cursor, OKSpider

GID = "57000000000001"
ENV = {"OK_APP_KEY": "CBAKEY", "OK_APP_SECRET": "app-secret-value", "OK_TOKEN": "token-value-xyz"}


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {**ENV, "VEMETER_PSEUDONYM_KEY": "k" * 32}.items():
        monkeypatch.setenv(k, v)


def make_spider(extra: str = "") -> OKSpider:
    text = (
        "project: t\nsources:\n  - name: ok-test\n    platform: ok\n"
        "    api_base: http://127.0.0.1:9/fb.do\n"
        f"    targets: ['{GID}', 'demo.news2']\n"
        + "".join(f"    {line}\n" for line in extra.splitlines())
    )
    spider = OKSpider(config=parse_config(text, Path("/tmp/ok-test.yaml")))
    spider.crawler = SimpleNamespace(stats=None)  # type: ignore[assignment]
    for target in (GID, "demo.news2"):
        spider.book.add("ok-test", target)
    return spider


def topic(n: int, minutes_ago: int, **kw: Any) -> dict[str, Any]:
    created = NOW_MS - minutes_ago * 60_000
    return FakeTopic(str(1000 + n), GID, created, f"text {n}", f"user:{n}", 1, 2, 3, **kw).to_ok()


def page(topics: list[dict[str, Any]], anchor: str | None = "A1", more: bool = True) -> bytes:
    body: dict[str, Any] = {"media_topics": topics, "has_more": more}
    if anchor:
        body["anchor"] = anchor
    return json.dumps(body).encode()


def answer(spider: OKSpider, cur: Cursor, body: bytes, status: int = 200) -> list[Any]:
    request = spider._topics_request(cur)
    response = TextResponse(request.url, body=body, status=status, request=request)

    async def collect() -> list[Any]:
        return [x async for x in spider.parse_topics(response)]

    return asyncio.run(collect())


def cursor(**kw: Any) -> Cursor:
    return Cursor("ok-test", GID, "mediatopic.getTopics", gid=GID, **kw)


def test_requests_are_signed_posts_with_the_token_out_of_the_url() -> None:
    spider = make_spider()
    request = spider._topics_request(cursor(anchor="A1"))
    assert isinstance(request, FormRequest) and request.method == "POST"
    assert request.url == "http://127.0.0.1:9/fb.do"
    body = request.body.decode()
    assert "access_token=token-value-xyz" in body and "sig=" in body and "anchor=A1" in body
    assert request.meta["rate_key"].startswith("ok:") and "CBAKEY" not in request.meta["rate_key"]
    assert request.meta["rate_per_second"] == 1.0
    assert "token-value-xyz" not in repr(request)


def test_pages_until_has_more_is_false_and_yields_items() -> None:
    spider = make_spider()
    out = answer(spider, cursor(), page([topic(3, 1), topic(2, 2)], anchor="A1"))
    items = [x for x in out if isinstance(x, PostItem)]
    assert [i.post_id for i in items] == ["1003", "1002"]
    assert items[0].url == f"https://ok.ru/group/{GID}/topic/1003"
    assert items[0].author and "user" not in items[0].author and len(items[0].author) == 32
    assert items[0].published_at.tzinfo is UTC
    (nxt,) = [x for x in out if isinstance(x, FormRequest)]
    assert nxt.meta["cursor"].anchor == "A1" and "anchor=A1" in nxt.body.decode()
    last = answer(spider, nxt.meta["cursor"], page([topic(1, 3)], anchor="A2", more=False))
    assert len(last) == 1 and spider.book.status("ok-test", GID) == OK
    assert spider.book.collected("ok-test", GID) == 3


def test_old_sticky_topic_does_not_stop_a_since_window() -> None:
    spider = make_spider("since: 2025-12-01")
    sticky = topic(9, 400 * 24 * 60, is_sticky=True)
    out = answer(spider, cursor(), page([sticky, topic(3, 10), topic(2, 20)]))
    assert [x.post_id for x in out if isinstance(x, PostItem)] == ["1003", "1002"]
    assert spider.book.is_open("ok-test", GID)  # went on to the next page
    old = topic(1, 60 * 24 * 60)  # 60 days ago: before the window
    out = answer(spider, cursor(anchor="A1"), page([topic(0, 30), old, topic(-1, 1)], "A2"))
    assert [x.post_id for x in out if isinstance(x, PostItem)] == ["1000"]
    assert spider.book.status("ok-test", GID) == OK  # stopped: everything below is older


def test_incremental_run_stops_at_the_newest_stored_topic() -> None:
    spider = make_spider()
    resume_at = datetime.fromtimestamp((NOW_MS - 5 * 60_000) / 1000, tz=UTC)
    cur = cursor(resume_id="1005", resume_at=resume_at)
    sticky = topic(1, 900, is_sticky=True)
    out = answer(spider, cur, page([sticky, topic(7, 1), topic(6, 3), topic(5, 5), topic(4, 6)]))
    assert [x.post_id for x in out if isinstance(x, PostItem)] == ["1007", "1006"]
    assert spider.book.status("ok-test", GID) == OK


def test_until_skips_newer_topics_and_max_posts_stops() -> None:
    spider = make_spider("until: 2025-12-31T23:58:00Z\nmax_posts_per_target: 2")
    out = answer(spider, cursor(), page([topic(5, 1), topic(4, 3), topic(3, 4), topic(2, 5)]))
    assert [x.post_id for x in out if isinstance(x, PostItem)] == ["1004", "1003"]
    assert spider.book.status("ok-test", GID) == OK


def test_the_same_anchor_twice_ends_the_target_instead_of_looping() -> None:
    spider = make_spider()
    assert answer(spider, cursor(anchor="A1"), page([], anchor="A1")) == []
    assert spider.book.status("ok-test", GID) == ERROR


def test_wrong_shape_is_layout_changed_and_an_html_error_page_is_an_error() -> None:
    spider = make_spider()
    answer(spider, cursor(), b'{"items": []}')
    assert spider.book.status("ok-test", GID) == LAYOUT_CHANGED
    other = make_spider()
    answer(other, cursor(), b"<html>Forbidden</html>", status=403)
    assert other.book.status("ok-test", GID) == ERROR


@pytest.mark.parametrize(
    ("code", "status", "needle"),
    [
        (10, INACCESSIBLE, "GROUP_CONTENT"),
        (300, INACCESSIBLE, "not found"),
        (8, RATE_LIMITED, "OK_APP_KEY is parked"),
        (402, RATE_LIMITED, "never solves captchas"),
        (104, ERROR, "check OK_APP_KEY, OK_APP_SECRET and OK_TOKEN"),
        (102, ERROR, "expired"),
        (100, ERROR, "PARAM"),
        (2, ERROR, "still after 3 retries"),
    ],
)
def test_error_codes_end_the_target_with_a_reason(code: int, status: str, needle: str) -> None:
    spider = make_spider()
    body = json.dumps({"error_code": code, "error_msg": f"NAME{code} : PARAM token-value-xyz"})
    answer(spider, cursor(attempts=3), body.encode(), status=403 if code == 10 else 200)
    report = {r.target: r for r in spider.book.reports()}[GID]
    assert report.status == status and needle in (report.reason or "")
    assert "token-value-xyz" not in (report.reason or "")  # echoed secrets are scrubbed
    stopped = spider.blocked_reason(spider._topics_request(cursor())) is not None
    assert stopped == (status in (RATE_LIMITED,) or code in (104, 102))


def test_a_retryable_error_is_sent_again_with_the_same_signed_body() -> None:
    spider = make_spider()
    out = answer(spider, cursor(), b'{"error_code": 2, "error_msg": "SERVICE : later"}')
    (retry,) = out
    assert retry.meta["cursor"].attempts == 1 and spider.book.is_open("ok-test", GID)
    assert retry.body == spider._topics_request(cursor()).body


def test_a_missing_secret_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OK_APP_SECRET")
    with pytest.raises(SecretMissing, match="OK_APP_SECRET is not set"):
        make_spider()


def test_items_carry_the_promo_flag() -> None:
    spider = make_spider()
    out = answer(spider, cursor(), page([topic(3, 1, is_promo=True), topic(2, 2)], more=False))
    assert [i.is_promo for i in out if isinstance(i, PostItem)] == [True, False]


def test_a_body_cut_off_mid_json_is_asked_again_then_an_error_not_a_layout_change() -> None:
    from scrapy.settings import Settings

    spider = make_spider()
    spider.crawler = SimpleNamespace(  # type: ignore[assignment]
        stats=None, settings=Settings({"VEMETER_RETRY_TIMES": 1})
    )
    whole = page([topic(3, 1), topic(2, 2)])
    (again,) = answer(spider, cursor(), whole[:-7])
    assert isinstance(again, FormRequest) and again.body == spider._topics_request(cursor()).body
    assert again.meta["vemeter_retries"] == 1 and again.meta["retry_delay"] > 0
    assert spider.book.is_open("ok-test", GID)
    # The second cut-off answer uses up the one retry: an error, never a layout change.
    response = TextResponse(again.url, body=whole[:20], request=again)

    async def collect() -> list[Any]:
        return [x async for x in spider.parse_topics(response)]

    assert asyncio.run(collect()) == []
    report = {r.target: r for r in spider.book.reports()}[GID]
    assert report.status == ERROR
    assert report.reason == (
        "mediatopic.getTopics: answer is not whole JSON (cut off? at character 19; 20 bytes) "
        "after 2 attempts"
    )


def test_one_topic_beyond_the_calendar_is_skipped_and_noted() -> None:
    spider = make_spider()
    bad = {**topic(9, 1), "created_ms": 10**20}
    out = answer(spider, cursor(), page([bad, topic(2, 2)], more=False))
    assert [x.post_id for x in out if isinstance(x, PostItem)] == ["1002"]
    report = {r.target: r for r in spider.book.reports()}[GID]
    assert report.status == OK
    assert report.reason == (
        "1 malformed posts skipped (topic 1009: created_ms 100000000000000000000 is beyond "
        "the calendar)"
    )
