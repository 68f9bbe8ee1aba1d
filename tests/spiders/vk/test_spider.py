"""The VK spider on canned answers: a body cut off on the way is asked again, never a layout change."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scrapy
from scrapy.http import TextResponse
from scrapy.settings import Settings

from crawler.config import parse_config
from crawler.items import PostItem
from crawler.targets import ERROR, LAYOUT_CHANGED, OK
from spiders.vk.spider import Cursor, VKSpider

GROUP = 5550001


@pytest.fixture
def spider(monkeypatch: pytest.MonkeyPatch) -> VKSpider:
    monkeypatch.setenv("VK_TOKEN", "vk-test-token-000")
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "k" * 32)
    text = (
        "project: t\nsources:\n  - name: vk-test\n    platform: vk\n"
        "    api_base: http://127.0.0.1:9/method\n    targets: [club5550001]\n"
    )
    made = VKSpider(config=parse_config(text, Path("/tmp/vk-test.yaml")))
    made.crawler = SimpleNamespace(  # type: ignore[assignment]
        stats=None, settings=Settings({"VEMETER_RETRY_TIMES": 1})
    )
    made.book.add("vk-test", "club5550001")
    return made


def wall(*ids: int, count: int | None = None) -> bytes:
    items = [
        {"owner_id": -GROUP, "id": i, "from_id": -GROUP, "date": 1_740_000_000 + i, "text": f"t{i}"}
        for i in ids
    ]
    return json.dumps({"response": {"count": count or len(ids), "items": items}}).encode()


def answer(spider: VKSpider, request: scrapy.Request, body: bytes) -> list[Any]:
    response = TextResponse(request.url, body=body, request=request)

    async def collect() -> list[Any]:
        return [x async for x in spider.parse_wall(response)]

    return asyncio.run(collect())


def first(spider: VKSpider) -> scrapy.Request:
    return spider._wall_request(Cursor("vk-test", "club5550001", "wall.get", group_id=GROUP))


def report(spider: VKSpider) -> Any:
    (only,) = spider.target_reports()
    return only


def test_a_wall_page_cut_off_mid_json_is_asked_again_then_read(spider: VKSpider) -> None:
    whole = wall(3, 2, 1)
    (again,) = answer(spider, first(spider), whole[: len(whole) // 2])
    assert isinstance(again, scrapy.Request) and again.url == first(spider).url
    assert (
        again.meta["vemeter_retries"] == 1 and again.meta["cursor"] == first(spider).meta["cursor"]
    )
    assert spider.book.is_open("vk-test", "club5550001")
    out = answer(spider, again, whole)
    assert [x.post_id for x in out if isinstance(x, PostItem)] == [
        f"-{GROUP}_{i}" for i in (3, 2, 1)
    ]
    assert report(spider).status == OK


def test_past_the_retry_cap_a_cut_off_body_is_an_error_not_a_layout_change(
    spider: VKSpider,
) -> None:
    (again,) = answer(spider, first(spider), b'{"response":{"count":3,"items":[{"id"')
    assert answer(spider, again, b"") == []
    done = report(spider)
    assert done.status == ERROR and not done.complete
    assert done.reason == "wall.get at offset 0: empty answer after 2 attempts"


def test_a_whole_answer_of_another_shape_is_still_a_layout_change(spider: VKSpider) -> None:
    assert answer(spider, first(spider), b'{"response": {"posts": []}}') == []
    assert report(spider).status == LAYOUT_CHANGED


def test_one_post_beyond_the_calendar_costs_only_itself(spider: VKSpider) -> None:
    page = json.loads(wall(4, 3, 2, count=4))
    page["response"]["items"][1]["date"] = 10**20
    out = answer(spider, first(spider), json.dumps(page).encode())
    assert [x.post_id for x in out if isinstance(x, PostItem)] == [f"-{GROUP}_4", f"-{GROUP}_2"]
    (nxt,) = [x for x in out if isinstance(x, scrapy.Request)]
    assert nxt.meta["cursor"].offset == 3  # the skipped post still moves the offset
    answer(spider, nxt, wall(1, count=4))  # the last page
    done = report(spider)
    assert done.status == OK
    assert done.reason.startswith(f"1 malformed posts skipped (post -{GROUP}_3: date 1000")
