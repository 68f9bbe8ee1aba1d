"""The fake news website: what it serves, its request log, error injection and its CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from spiders.fakes.web import PATHS, FakeWeb
from spiders.fakes.web_data import FakeSite, default_site
from spiders.web.parse import parse_article, parse_feed, parse_sitemap

SELECTORS = {
    "body": "div.article-body",
    "title": "h1.headline",
    "date": "time",
    "author": ".author",
}


@pytest.fixture
def site() -> FakeSite:
    return default_site()


@pytest.fixture
def web(site: FakeSite) -> Iterator[FakeWeb]:
    with FakeWeb(site) as fake:
        yield fake


@pytest.fixture
def client(web: FakeWeb) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.base, timeout=5) as c:
        yield c


def test_robots_disallows_private(client: httpx.Client) -> None:
    r = client.get("/robots.txt")
    assert r.status_code == 200 and "Disallow: /private/" in r.text


def test_feeds_list_what_the_site_says(client: httpx.Client, web: FakeWeb, site: FakeSite) -> None:
    rss = parse_feed(client.get(PATHS["rss"]).content, web.url("rss"))
    assert len(rss.entries) == len(site.news) + len(site.private)
    assert len(rss.malformed) == site.malformed_items
    assert rss.entries[0].published_at is not None
    atom = parse_feed(client.get(PATHS["atom"]).content, web.url("atom"))
    assert [e.text for e in atom.entries] == [a.text for a in site.blog]
    assert [e.url for e in atom.entries] == [web.base + a.path for a in site.blog]


def test_sitemap_index_leads_to_every_sitemap_page(
    client: httpx.Client, web: FakeWeb, site: FakeSite
) -> None:
    index = parse_sitemap(client.get(PATHS["index"]).content, web.url("index"))
    assert index.is_index and len(index.links) == 2
    pages = []
    for link in index.links:
        child = parse_sitemap(client.get(link.url).content, link.url)
        pages += [p.url for p in child.links]
    listed = site.news + site.news_archive + site.archive
    assert sorted(pages) == sorted(web.base + a.path for a in listed)


def test_articles_parse_and_one_changed_layout(client: httpx.Client, site: FakeSite) -> None:
    for article in site.articles():
        html = client.get(article.path).text
        if article.layout_changed:
            assert "article-body" not in html
            continue
        parsed = parse_article(html, **SELECTORS)
        assert parsed.text == article.text
        assert parsed.title == article.title and parsed.author == article.author
        assert parsed.published_at == article.published_at


def test_request_log_errors_and_404(client: httpx.Client, web: FakeWeb, site: FakeSite) -> None:
    site.errors["/news/court-case"] = [503, 429]
    statuses = [client.get("/news/court-case").status_code for _ in range(3)]
    assert statuses == [503, 429, 200]
    assert client.get("/nope").status_code == 404
    assert web.requests_for("/news/court-case") == 3
    assert web.paths()[-1] == "/nope"
    assert web.max_requests_in_window(60.0) == 4
    assert web.max_requests_in_window(60.0, skip=("/nope",)) == 3


def test_publish_adds_newer_articles_everywhere(
    client: httpx.Client, web: FakeWeb, site: FakeSite
) -> None:
    before = max(a.published for a in site.articles())
    fresh = site.publish(2)
    assert all(a.published > before for a in fresh)
    rss = parse_feed(client.get(PATHS["rss"]).content, web.url("rss"))
    assert {web.base + a.path for a in fresh} <= {e.url for e in rss.entries}
    news = parse_sitemap(client.get(PATHS["news_sitemap"]).content, web.url("news_sitemap"))
    assert {web.base + a.path for a in fresh} <= {p.url for p in news.links}
    assert client.get(fresh[0].path).status_code == 200


def test_content_is_deterministic() -> None:
    with FakeWeb() as a, FakeWeb() as b:
        for path in (PATHS["rss"], PATHS["atom"], "/news/court-case"):
            one = httpx.get(a.base + path).text.replace(a.base, "")
            two = httpx.get(b.base + path).text.replace(b.base, "")
            assert one == two


def test_cli_prints_its_base_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiders.fakes.web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(base + "/robots.txt", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
