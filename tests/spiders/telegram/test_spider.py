"""The Telegram spider's decisions on single pages: stop points, statuses, items and requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import PostItem
from spiders.fakes.telegram import render_page
from spiders.fakes.telegram_data import FakeChannel, FakeMessage, synthetic_scenario
from spiders.telegram.parse import NO_PREVIEW
from spiders.telegram.spider import Cursor, TelegramSpider, resume_id
from storage.runs import Resume

BASE = "http://127.0.0.1:8766"


def make_spider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> TelegramSpider:
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "unit-test-pseudonym-key-0123456789")
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: unit\nstorage: {url: 'sqlite:///unit.db'}\nsources:\n"
        f"  - {{name: tg, platform: telegram, base_url: '{BASE}', targets: [demo_tg_1]{extra}}}\n",
        encoding="utf-8",
    )
    spider = TelegramSpider(config=config)
    spider.book.add("tg", "demo_tg_1")
    return spider


def response(spider: TelegramSpider, cur: Cursor, body: bytes, url: str | None = None) -> Response:
    request = spider._request(cur)
    return HtmlResponse(url or request.url, body=body, request=request)


def run(spider: TelegramSpider, resp: Response) -> list[Any]:
    async def collect() -> list[Any]:
        return [x async for x in spider.parse_page(resp)]

    return asyncio.run(collect())


@pytest.fixture
def channel() -> FakeChannel:
    return synthetic_scenario(channels=1, messages_per_channel=65, seed=1).channels[0]


def test_first_page_yields_posts_and_asks_for_the_older_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    out = run(spider, response(spider, Cursor("tg", "demo_tg_1"), render_page(channel, None)))
    items = [x for x in out if isinstance(x, PostItem)]
    (nxt,) = [x for x in out if isinstance(x, scrapy.Request)]
    shown = channel.messages[-20:]
    assert [i.post_id for i in items] == [
        f"demo_tg_1/{m.id}" for m in reversed(shown) if not m.service
    ]
    assert nxt.url == f"{BASE}/s/demo_tg_1?before={shown[0].id}"
    assert nxt.meta["rate_key"] == "telegram:127.0.0.1:8766" and nxt.meta["rate_per_second"] == 1.0
    assert spider.book.is_open("tg", "demo_tg_1")
    by_key = {f"demo_tg_1/{m.id}": m for m in shown if not m.service}
    assert any(m.signature for m in by_key.values())
    for item in items:  # a signature becomes a pseudonym at once; unsigned posts have no author
        signature = by_key[item.post_id].signature
        assert item.author == (spider.pseudonymise("telegram", signature) if signature else None)
        assert signature is None or signature not in (item.author or "")


def test_resume_point_stops_paging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    posts = [m for m in channel.messages if not m.service]
    stored = posts[-4].id
    cur = Cursor("tg", "demo_tg_1", resume_after=stored)
    out = run(spider, response(spider, cur, render_page(channel, None)))
    assert [x.post_id for x in out] == [f"demo_tg_1/{m.id}" for m in reversed(posts[-3:])]
    assert spider.book.status("tg", "demo_tg_1") == "ok"
    assert resume_id(Resume(f"demo_tg_1/{stored}", None, 0)) == stored


def test_resume_points_are_read_once_and_full_only_starts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.engine import open_database
    from storage.runs import TargetOutcome, record_targets, start_run

    spider = make_spider(tmp_path, monkeypatch)
    engine = open_database(spider.project_config.database_url)
    run_id = start_run(engine, project="unit", config_hash="h", version="v", classifiers={})
    stored = TargetOutcome(
        "telegram", "tg", "demo_tg_1", "ok", None, 12, 0, True, "demo_tg_1/40", None
    )
    record_targets(engine, run_id, [stored])
    engine.dispose()

    spider.full = True
    assert spider.resume_points() == {"tg": {}}
    # The storage pipeline still compares this run with the last one (a likely break).
    before = spider.previous_crawl("tg", "demo_tg_1")
    assert before is not None and (before.newest_post_id, before.last_posts) == ("demo_tg_1/40", 12)
    assert spider.previous_crawl("tg", "demo_tg_9") is None
    spider.full = False
    (tmp_path / "unit.db").unlink()  # read once per crawl: the spider and the pipeline share it
    assert spider.resume_points()["tg"]["demo_tg_1"] is before


def test_window_skips_newer_and_stops_at_older(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    shown = [m for m in channel.messages[-20:] if not m.service]
    since, until = shown[3].date, shown[-3].date
    iso = "%Y-%m-%dT%H:%M:%SZ"
    window = (
        f", since: '{datetime.fromtimestamp(since, UTC):{iso}}',"
        f" until: '{datetime.fromtimestamp(until, UTC):{iso}}'"
    )
    spider = make_spider(tmp_path, monkeypatch, window)
    out = run(spider, response(spider, Cursor("tg", "demo_tg_1"), render_page(channel, None)))
    expected = [m for m in shown if since <= m.date < until]
    assert [x.post_id for x in out] == [f"demo_tg_1/{m.id}" for m in reversed(expected)]
    assert spider.book.status("tg", "demo_tg_1") == "ok"


def test_max_posts_per_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch, ", max_posts_per_target: 5")
    out = run(spider, response(spider, Cursor("tg", "demo_tg_1"), render_page(channel, None)))
    assert len(out) == 5 and all(isinstance(x, PostItem) for x in out)
    assert spider.book.status("tg", "demo_tg_1") == "ok"


def test_redirect_away_from_preview_is_inaccessible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    # Even a page full of messages does not count once the URL has left /s/.
    resp = response(
        spider, Cursor("tg", "demo_tg_1"), render_page(channel, None), f"{BASE}/demo_tg_1"
    )
    assert run(spider, resp) == []
    assert spider.book.reports()[0].status == "inaccessible"
    assert spider.book.reports()[0].reason == NO_PREVIEW


def test_cursor_that_does_not_move_back_is_layout_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    page = render_page(channel, 40)
    first = int(page.split(b'data-before="')[1].split(b'"')[0])
    out = run(spider, response(spider, Cursor("tg", "demo_tg_1", before=first), page))
    assert not any(isinstance(x, scrapy.Request) for x in out)
    report = spider.book.reports()[0]
    assert report.status == "layout-changed" and "did not move back" in (report.reason or "")


def test_empty_channel_page_is_ok_with_no_posts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    empty = FakeChannel("demo_tg_1", "Empty", [FakeMessage(1, 0, "Channel created", service=True)])
    assert run(spider, response(spider, Cursor("tg", "demo_tg_1"), render_page(empty, None))) == []
    assert spider.book.status("tg", "demo_tg_1") == "ok"


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        ("429", "rate-limited", "HTTP 429 after 6 attempts"),
        ("503", "error", "HTTP 503"),
        ("robots", "inaccessible", "Forbidden by robots.txt"),
        ("refused", "error", "cannot reach http://127.0.0.1:8766"),
    ],
)
def test_failures_give_the_target_a_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str, status: str, words: str
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    request = spider._request(Cursor("tg", "demo_tg_1", before=40))
    value: Exception
    if error in ("429", "503"):
        if error == "429":
            request.meta["gave_up"] = "HTTP 429 after 6 attempts"
        value = HttpError(HtmlResponse(request.url, status=int(error), request=request))
    elif error == "robots":
        value = IgnoreRequest("Forbidden by robots.txt")
    else:
        value = ConnectionRefusedError(111, "Connection refused")
    failure = Failure(value)  # type: ignore[no-untyped-call]
    failure.request = request  # type: ignore[attr-defined]
    spider._failed(failure)
    report = spider.book.reports()[0]
    assert report.status == status and words in (report.reason or ""), report


def test_lifted_rate_has_no_rate_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spider = make_spider(tmp_path, monkeypatch, ", requests_per_second: 0")
    assert spider._request(Cursor("tg", "demo_tg_1")).meta["rate_key"] is None


def test_items_carry_the_edited_flag_and_forward_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    fixtures = Path(__file__).parents[2] / "fixtures" / "telegram"
    expected = json.loads((fixtures / "channel_page.expected.json").read_text(encoding="utf-8"))
    spider = make_spider(tmp_path, monkeypatch)
    body = (fixtures / "channel_page.html").read_bytes()
    request = spider._request(Cursor("tg", "demo_tg_1"))
    out = run(spider, HtmlResponse(request.url, body=body, request=request))
    items = {i.post_id: i for i in out if isinstance(i, PostItem)}
    posts = {p["post_id"]: p for p in expected["posts"]}
    assert items and set(items) <= set(posts)
    assert any(p["forward_origin"] for p in posts.values())
    for post_id, item in items.items():
        assert (item.edited, item.forwarded_from) == (
            posts[post_id]["edited"],
            posts[post_id]["forward_origin"],
        )


def test_a_page_cut_off_before_its_end_is_asked_again_then_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    from types import SimpleNamespace

    from scrapy.settings import Settings

    spider = make_spider(tmp_path, monkeypatch)
    spider.crawler = SimpleNamespace(  # type: ignore[assignment]
        stats=None, settings=Settings({"VEMETER_RETRY_TIMES": 1})
    )
    whole = render_page(channel, None)
    cut = whole[: len(whole) * 2 // 3]  # ends inside a message: its date may be lost
    (again,) = run(spider, response(spider, Cursor("tg", "demo_tg_1"), cut))
    assert isinstance(again, scrapy.Request) and again.meta["vemeter_retries"] == 1
    assert spider.book.is_open("tg", "demo_tg_1")
    assert run(spider, HtmlResponse(again.url, body=cut, request=again)) == []
    report = spider.book.reports()[0]
    assert report.status == "error"
    assert report.reason == (
        f"demo_tg_1 page before=newest: page cut off before </html> ({len(cut)} bytes) "
        "after 2 attempts"
    )


def test_one_unreadable_message_costs_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: FakeChannel
) -> None:
    spider = make_spider(tmp_path, monkeypatch)
    page = render_page(channel, None)
    shown = [m for m in channel.messages[-20:] if not m.service]
    broken = f'data-post="demo_tg_1/{shown[2].id}"'.encode()
    assert broken in page
    page = page.replace(broken, b'data-post="demo_tg_1:x"')
    out = run(spider, response(spider, Cursor("tg", "demo_tg_1"), page))
    posts = [x.post_id for x in out if isinstance(x, PostItem)]
    assert len(posts) == len(shown) - 1 and f"demo_tg_1/{shown[2].id}" not in posts
    spider.finish("tg", "demo_tg_1", "ok")
    reason = spider.book.reports()[0].reason or ""
    assert reason.startswith("1 malformed posts skipped (a message has an unreadable data-post")
