"""The web spider's decisions on canned responses: no network, no database, no Scrapy engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config import parse_config
from crawler.items import PostItem
from spiders.web.spider import WebSpider, stored_id
from storage.runs import Resume

SITE = "https://news.example.kg"
BODY = '<html><body><div class="article-body"><p>{text}</p></div></body></html>'


def rss(*items: tuple[str, str | None]) -> bytes:
    """An RSS feed of (path, RFC 822 date or None) entries."""
    parts = []
    for path, date in items:
        when = f"<pubDate>{date}</pubDate>" if date else ""
        parts.append(f"<item><title>T {path}</title><link>{SITE}{path}</link>{when}"
                     f"<description>Summary of {path}</description></item>")  # fmt: skip
    return f"<rss><channel><title>F</title>{''.join(parts)}</channel></rss>".encode()


class Engine:
    def __init__(self) -> None:
        self.crawled: list[scrapy.Request] = []

    def crawl(self, request: scrapy.Request) -> None:
        self.crawled.append(request)


def make_spider(
    monkeypatch: pytest.MonkeyPatch, source: str, resume: dict[str, Resume] | None = None
) -> tuple[WebSpider, list[scrapy.Request], Engine]:
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "unit-test-key-0123456789")
    text = "project: unit\nsources:\n  - name: web-a\n    platform: web\n" + "".join(
        f"    {line}\n" for line in source.strip().splitlines()
    )
    spider = WebSpider(config=parse_config(text, Path("unit.yaml")))
    spider.resume_points = lambda: {"web-a": resume or {}}  # type: ignore[method-assign]
    engine = Engine()
    spider.crawler = SimpleNamespace(engine=engine, stats=None)  # type: ignore[assignment]

    async def first() -> list[scrapy.Request]:
        return [r async for r in spider.start()]

    return spider, asyncio.run(first()), engine


def answer(spider: WebSpider, request: scrapy.Request, body: bytes) -> list[Any]:
    cls = HtmlResponse if body.lstrip().startswith(b"<html") else XmlResponse
    response = cls(url=request.url, body=body, request=request, encoding="utf-8")
    callback = request.callback
    assert callback is not None
    return list(callback(response))


def fail(spider: WebSpider, request: scrapy.Request, error: Exception) -> None:
    failure = Failure(error)  # type: ignore[no-untyped-call]
    failure.request = request  # type: ignore[attr-defined]  # Scrapy attaches it the same way
    spider._failed(failure)


def report(spider: WebSpider, target: str) -> Any:
    return next(r for r in spider.target_reports() if r.target == target)


def test_one_request_per_host_until_robots_is_known_and_shared_pages_fetched_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spider, first, engine = make_spider(
        monkeypatch,
        f'targets: ["{SITE}/rss", "{SITE}/more.rss"]\nselectors: {{body: "div.article-body"}}',
    )
    assert [r.url for r in first] == [f"{SITE}/rss"]  # the second waits for robots.txt
    out = answer(spider, first[0], rss(("/a", "Wed, 31 Dec 2025 10:00:00 GMT")))
    assert [r.url for r in out] == [f"{SITE}/a"]
    assert [r.url for r in engine.crawled] == [f"{SITE}/more.rss"]  # released
    # The second feed lists /a too: claimed already, not fetched again.
    more = answer(spider, engine.crawled[0], rss(("/a", "Wed, 31 Dec 2025 10:00:00 GMT")))
    assert more == []
    assert report(spider, f"{SITE}/more.rss").status == "ok"
    assert report(spider, f"{SITE}/more.rss").newest_published_at == datetime(
        2025, 12, 31, 10, tzinfo=UTC
    )
    items = answer(spider, out[0], BODY.format(text="Text of a").encode())
    assert isinstance(items[0], PostItem) and items[0].text == "Text of a"
    assert items[0].extra_text == "T /a" and items[0].post_id == f"{SITE}/a"
    assert report(spider, f"{SITE}/rss").status == "ok"


def test_resume_point_window_and_undated_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    cutoff = datetime(2025, 12, 30, tzinfo=UTC)
    spider, first, _ = make_spider(
        monkeypatch,
        f'targets: ["{SITE}/rss"]\nfetch_articles: false\nuntil: 2025-12-31T12:00:00Z',
        resume={f"{SITE}/rss": Resume(f"{SITE}/old", cutoff, 3)},
    )
    items = answer(
        spider,
        first[0],
        rss(
            ("/old", "Mon, 29 Dec 2025 10:00:00 GMT"),  # not newer than the last crawl
            ("/same", "Tue, 30 Dec 2025 00:00:00 GMT"),  # exactly the resume point: stored
            ("/new", "Wed, 31 Dec 2025 10:00:00 GMT"),
            ("/late", "Thu, 01 Jan 2026 10:00:00 GMT"),  # after `until`
            ("/undated", None),
        ),
    )
    assert [i.url for i in items] == [f"{SITE}/new", f"{SITE}/undated"]
    assert items[0].text == "Summary of /new"
    assert (datetime.now(UTC) - items[1].published_at).total_seconds() < 60
    done = report(spider, f"{SITE}/rss")
    assert done.status == "ok" and "1 posts without a date" in done.reason
    # Only dated posts place the resume point.
    assert done.newest_post_id == f"{SITE}/new"
    assert done.observed == 5


def test_pages_outside_the_allowed_domains_are_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    spider, first, engine = make_spider(
        monkeypatch,
        f'targets: ["{SITE}/sitemap.xml"]\nselectors: {{body: "div.article-body"}}\n'
        "allow_domains: [example.kg]",
    )
    urlset = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{SITE}/a</loc></url><url><loc>https://www.example.kg/b</loc></url>"
        "<url><loc>https://www.example.kg/b2</loc></url>"
        "<url><loc>https://elsewhere.example/c</loc></url></urlset>"
    ).encode()
    out = answer(spider, first[0], urlset)
    # The first page of a new host goes out; the next waits for that host's robots.txt.
    assert sorted(r.url for r in out) == [f"{SITE}/a", "https://www.example.kg/b"]
    assert [r.url for r in spider.gate.held["www.example.kg"]] == ["https://www.example.kg/b2"]
    for request in out:
        answer(spider, request, BODY.format(text="x").encode())
    assert [r.url for r in engine.crawled] == ["https://www.example.kg/b2"]
    answer(spider, engine.crawled[0], BODY.format(text="y").encode())
    done = report(spider, f"{SITE}/sitemap.xml")
    assert done.status == "ok"
    assert "1 links outside allow_domains (example.kg) not followed" in done.reason


def test_changed_layout_disallowed_and_gone_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    spider, first, _ = make_spider(
        monkeypatch, f'targets: ["{SITE}/rss"]\nselectors: {{body: "div.article-body"}}'
    )
    date = "Wed, 31 Dec 2025 10:00:00 GMT"
    pages = answer(spider, first[0], rss(("/a", date), ("/b", date), ("/c", date), ("/d", date)))
    assert len(pages) == 4
    answer(spider, pages[0], b"<html><body><main><p>Redesigned</p></main></body></html>")
    fail(spider, pages[1], IgnoreRequest("Forbidden by robots.txt"))
    gone = HtmlResponse(url=pages[2].url, status=404, body=b"", request=pages[2])
    fail(spider, pages[2], HttpError(gone))
    assert report(spider, f"{SITE}/rss").status == "error"  # open when the crawl ends
    answer(spider, pages[3], b"<html><body><p>also redesigned</p></body></html>")
    done = report(spider, f"{SITE}/rss")
    # Every fetched page lost its body: the selectors no longer fit this site.
    assert done.status == "layout-changed"
    assert "2 of 2 article pages layout-changed" in done.reason
    assert "1 pages disallowed by robots.txt" in done.reason and "404/410" in done.reason


def test_a_failed_child_sitemap_keeps_the_resume_point(monkeypatch: pytest.MonkeyPatch) -> None:
    spider, first, _ = make_spider(
        monkeypatch, f'targets: ["{SITE}/index.xml"]\nselectors: {{body: "div.article-body"}}'
    )
    index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{SITE}/s1.xml</loc></sitemap><sitemap><loc>{SITE}/s2.xml</loc></sitemap>"
        "</sitemapindex>"
    ).encode()
    children = answer(spider, first[0], index)
    assert [r.meta["role"] for r in children] == ["sitemap", "sitemap"]
    broken = HtmlResponse(url=children[0].url, status=500, body=b"", request=children[0])
    children[0].meta["gave_up"] = "HTTP 500 after 6 attempts"
    fail(spider, children[0], HttpError(broken))
    answer(spider, children[1], b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'/>")
    done = report(spider, f"{SITE}/index.xml")
    assert done.status == "error" and not done.complete
    assert done.reason == f"child sitemap {SITE}/s1.xml: HTTP 500 after 6 attempts"


def test_long_urls_are_stored_as_a_digest() -> None:
    short = "https://example.org/a"
    assert stored_id(short) == short
    long = "https://example.org/" + "x" * 200
    assert stored_id(long).startswith("sha256:") and len(stored_id(long)) <= 96
    assert stored_id(long) == stored_id(long)


def test_a_feed_cut_off_on_the_way_is_asked_again_then_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scrapy.settings import Settings

    spider, first, _ = make_spider(
        monkeypatch, f'targets: ["{SITE}/rss"]\nselectors: {{body: "div.article-body"}}'
    )
    spider.crawler = SimpleNamespace(  # type: ignore[assignment]
        engine=Engine(), stats=None, settings=Settings({"VEMETER_RETRY_TIMES": 1})
    )
    feed = rss(("/a", "Wed, 31 Dec 2025 10:00:00 GMT"))
    (again,) = answer(spider, first[0], feed[:-20])
    assert again.url == first[0].url and again.meta["vemeter_retries"] == 1
    assert spider.book.is_open("web-a", f"{SITE}/rss")  # waiting for `again`
    assert answer(spider, again, feed[:-20]) == []
    done = report(spider, f"{SITE}/rss")
    assert done.status == "error"
    assert done.reason.startswith(f"{SITE}/rss: not well-formed XML, cut off? (")
    assert done.reason.endswith("after 2 attempts")


def test_an_article_over_the_size_limit_is_a_note_not_the_targets_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scrapy.exceptions import DownloadCancelledError

    spider, first, _ = make_spider(
        monkeypatch, f'targets: ["{SITE}/rss"]\nselectors: {{body: "div.article-body"}}'
    )
    date = "Wed, 31 Dec 2025 10:00:00 GMT"
    pages = answer(spider, first[0], rss(("/a", date), ("/b", date)))
    fail(spider, pages[0], DownloadCancelledError("too large"))
    items = answer(spider, pages[1], BODY.format(text="kept").encode())
    assert [i.text for i in items] == ["kept"]
    done = report(spider, f"{SITE}/rss")
    assert done.status == "ok"
    assert "1 article pages over the size limit (DOWNLOAD_MAXSIZE), not read" in done.reason
