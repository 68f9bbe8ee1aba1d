"""The local fake of t.me/s: realistic paging, unreachable channels, errors and its request log."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from spiders.fakes.telegram import PAGE_SIZE, FakeTelegram
from spiders.fakes.telegram_data import (
    ErrorRule,
    Scenario,
    shown_views,
    synthetic_scenario,
    views_text,
)
from spiders.telegram.parse import LayoutError, NoPublicHistory, TelegramPost, parse_channel_page


@pytest.fixture
def scenario() -> Scenario:
    return synthetic_scenario(channels=2, messages_per_channel=65, seed=3, changed_layout=1)


@pytest.fixture
def server(scenario: Scenario) -> Iterator[FakeTelegram]:
    with FakeTelegram(scenario) as fake:
        yield fake


@pytest.fixture
def client(server: FakeTelegram) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        yield c


def crawl(client: httpx.Client, name: str) -> tuple[list[TelegramPost], list[int]]:
    """Every post of a channel, newest first, and the number of messages on each page."""
    posts: list[TelegramPost] = []
    sizes: list[int] = []
    before: int | None = None
    while True:
        r = client.get(f"/s/{name}", params={"before": before} if before else None)
        assert r.status_code == 200 and r.http_version == "HTTP/1.1"
        assert int(r.headers["content-length"]) == len(r.content)
        page = parse_channel_page(r.content)
        sizes.append(r.text.count('class="tgme_widget_message '))
        posts += page.posts
        if page.before is None:
            return posts, sizes
        before = page.before


def test_paging_returns_every_message_once_with_its_details(
    scenario: Scenario, client: httpx.Client
) -> None:
    channel = scenario.channels[0]
    posts, sizes = crawl(client, channel.username)
    assert sizes[:-1] == [PAGE_SIZE] * (len(sizes) - 1) and 0 < sizes[-1] <= PAGE_SIZE
    assert sum(sizes) == len(channel.messages)
    truth = {m.id: m for m in channel.posts}
    assert [p.message_id for p in posts] == sorted(truth, reverse=True)
    for post in posts:
        msg = truth[post.message_id]
        assert post.text == msg.text
        assert post.views == shown_views(msg.views)
        assert post.edited == msg.edited
        origin = post.forwarded_from
        assert ((origin.name, origin.url) if origin else None) == msg.forward
        assert post.author_signature == msg.signature
        assert post.media.count("photo") == msg.photos
        assert int(post.published_at.timestamp()) == msg.date
    # The scenario holds every case the parser and spider must handle.
    kinds = channel.messages
    assert any(m.photos > 1 for m in kinds) and any(m.service for m in kinds[1:])
    assert any(m.forward and m.forward[1] for m in kinds)
    assert any(m.forward and not m.forward[1] for m in kinds)
    assert any(m.reply_to for m in kinds) and any(m.edited for m in kinds)
    assert any(m.sticker for m in kinds) and any(m.link_preview for m in kinds)


def test_newest_message_is_last_on_the_first_page(scenario: Scenario, client: httpx.Client) -> None:
    html = client.get("/s/demo_tg_1").text
    ids = [int(i) for i in re.findall(r'data-post="demo_tg_1/(\d+)"', html)]
    assert ids == sorted(ids) and ids[-1] == scenario.channels[0].messages[-1].id
    assert 'data-after="' not in html  # only older pages link forward


def test_unreachable_channels(client: httpx.Client) -> None:
    moved = client.get("/s/restricted_tg_1")
    assert moved.status_code == 302 and moved.headers["location"] == "/restricted_tg_1"
    with pytest.raises(NoPublicHistory):
        parse_channel_page(client.get("/restricted_tg_1").content)
    assert client.get("/s/no_such_channel").status_code == 302
    with pytest.raises(NoPublicHistory):
        parse_channel_page(client.get("/s/no_history_tg_1").content)
    with pytest.raises(LayoutError):
        parse_channel_page(client.get("/s/changed_layout_tg_1").content)


def test_injected_429_robots_and_request_log(scenario: Scenario) -> None:
    scenario.errors.append(ErrorRule(nth={2}, retry_after=3, channel="demo_tg_2"))
    scenario.robots_disallow.append("/s/demo_tg_1")
    with FakeTelegram(scenario) as fake, httpx.Client(base_url=fake.base_url, timeout=5) as c:
        assert c.get("/robots.txt").text == "User-agent: *\nDisallow: /s/demo_tg_1\n"
        assert c.get("/s/demo_tg_2").status_code == 200
        limited = c.get("/s/demo_tg_2", params={"before": 50})
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
        assert c.get("/s/demo_tg_2", params={"before": 50}).status_code == 200
        assert (
            c.get("/s/demo_tg_1").status_code == 200
        )  # the fake serves; obeying is the crawler's job
    assert [(r.path, r.query, r.status) for r in fake.request_log] == [
        ("/robots.txt", {}, 200),
        ("/s/demo_tg_2", {}, 200),
        ("/s/demo_tg_2", {"before": "50"}, 429),
        ("/s/demo_tg_2", {"before": "50"}, 200),
        ("/s/demo_tg_1", {}, 200),
    ]
    times = [r.time for r in fake.request_log]
    assert times == sorted(times)
    assert fake.calls() == 4 and fake.calls("demo_tg_2") == 3
    assert fake.max_requests_in_window(60) == 4


def test_robots_txt_allows_everything_by_default(client: httpx.Client) -> None:
    assert client.get("/robots.txt").text == "User-agent: *\nDisallow:\n"


def test_publish_adds_newer_messages(scenario: Scenario, server: FakeTelegram) -> None:
    channel = scenario.channels[0]
    last = channel.messages[-1]
    newest = last.id + last.ids_used - 1  # an album's items use the ids after its own
    fresh = server.publish("demo_tg_1", 3)
    assert [m.id for m in fresh] == [newest + 1, newest + 2, newest + 3]
    with httpx.Client(base_url=server.base_url, timeout=5) as c:
        page = parse_channel_page(c.get("/s/demo_tg_1").content)
    assert [p.message_id for p in page.posts[:3]] == [newest + 3, newest + 2, newest + 1]


def test_scenarios_are_deterministic() -> None:
    a, b = synthetic_scenario(seed=9), synthetic_scenario(seed=9)
    assert a == b and a != synthetic_scenario(seed=10)


@pytest.mark.parametrize(
    ("views", "text"),
    [(845, "845"), (1000, "1K"), (1234, "1.2K"), (12_399, "12.3K"), (123_999, "123K"),
     (3_000_000, "3M"), (1_250_000, "1.2M")],
)  # fmt: skip
def test_views_are_abbreviated_like_telegram(views: int, text: str) -> None:
    assert views_text(views) == text


def test_command_line_prints_its_base_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiders.fakes.telegram", "--port", "0", "--channels", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base}/s/demo_tg_1", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
