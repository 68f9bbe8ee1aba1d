"""Crawls of the local fake news website through the real `vemeter` command, end to end."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.web import PATHS, FakeWeb
from spiders.fakes.web_data import DAY, NOW, FakeSite, default_site
from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

SELECTORS = (
    '{title: "article h1.headline", body: "div.article-body", date: "article time", '
    'author: "article .author"}'
)


@pytest.fixture
def web() -> Iterator[Any]:
    servers: list[FakeWeb] = []

    def start(site: FakeSite) -> FakeWeb:
        server = FakeWeb(site).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def write_config(directory: Path, sources: list[dict[str, str]]) -> Project:
    lines = [
        "project: e2e-web",
        "storage: {url: 'sqlite:///e2e.db'}",
        "privacy: {keep_text: all}",
        "sources:",
    ]
    for source in sources:
        lines.append(f"  - name: {source['name']}")
        lines.extend(f"    {k}: {v}" for k, v in source.items() if k != "name")
    path = directory / "project.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Project(directory, path)


def targets(server: FakeWeb, *names: str) -> str:
    return json.dumps([server.url(n) for n in names])


def rows(project: Project, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(project.dir / "e2e.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# Both sources share the host's limit: high enough to keep the test quick, and low enough to
# bind, since the first run's 20 requests go out within one second when unpaced.
RATE = 10


def test_two_runs_store_every_article_once(tmp_path: Path, web: Any) -> None:
    site = default_site()
    site.errors["/news/new-school"] = [503]  # retried transparently
    server = web(site)
    project = write_config(
        tmp_path,
        [
            {
                "name": "web-news",
                "platform": "web",
                "requests_per_second": str(RATE),
                "targets": targets(server, "rss", "index"),
                "selectors": SELECTORS,
            },
            {
                "name": "web-blog",
                "platform": "web",
                "requests_per_second": str(RATE),
                "fetch_articles": "false",
                "targets": targets(server, "atom"),
            },
        ],
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    # Stored: each listed article once, whether a feed, a sitemap or both list it.
    storable = site.storable()
    stored = dict(rows(project, "select url, text from posts"))
    assert sorted(stored) == sorted(server.base + a.path for a in storable)
    for article in storable:
        assert stored[server.base + article.path] == f"{article.text}\n{article.title}"

    by_target = {r["target"]: r for r in project.stats("platform,target")}
    assert {r["platform"] for r in by_target.values()} == {"web"}
    rss, index, atom = (by_target[server.url(n)] for n in ("rss", "index", "atom"))
    assert atom["posts"] == len(site.blog)
    assert rss["posts"] + index["posts"] == len(storable) - len(site.blog)
    assert rss["posts"] <= len(site.news)  # the rest came from the sitemaps
    assert index["posts"] >= len(site.news_archive) + sum(
        not a.layout_changed for a in site.archive
    )
    assert sum(r["flagged"] for r in by_target.values()) == sum(a.flagged for a in storable)

    # Requests: robots.txt obeyed, every article fetched once (plus the 503 retry).
    paths = server.paths()
    assert not [p for p in paths if p.startswith("/private/")]
    articles = [p for p in paths if p.startswith(("/news/", "/archive/", "/blog/"))]
    assert sorted(articles) == sorted(
        [a.path for a in site.news + site.news_archive + site.archive] + ["/news/new-school"]
    )
    # Scrapy's robots.txt middleware fetches robots.txt once per host outside the rate limit.
    assert len(paths) > RATE + 1  # more than one second's worth, besides robots.txt
    assert server.max_requests_in_window(1.0, skip=("/robots.txt",)) <= RATE
    assert server.requests_for("/robots.txt") == 1
    # The malformed feed entry and the changed page are reported; the rest was stored.
    assert (
        "1 malformed entries skipped" in done.stdout + done.stderr
        and "Broken entry 1" in done.stdout + done.stderr
    )
    assert "1 pages disallowed by robots.txt" in done.stdout + done.stderr
    assert re.search(r"1 of \d+ article pages layout-changed", done.stdout + done.stderr)
    assert "/archive/redesign" in done.stdout + done.stderr
    assert "3 of 3 targets ok" in done.stdout + done.stderr

    # Second run: only the two new articles are fetched and stored.
    fresh = site.publish(2)
    first_requests = len(paths)
    again = project.crawl()
    assert again.returncode == 0, again.stderr
    assert "2 new posts" in again.stdout + again.stderr
    second = server.paths()[first_requests:]
    assert sorted(p for p in second if p.startswith("/news/")) == sorted(a.path for a in fresh)
    assert PATHS["archive_sitemap"] not in second  # unchanged since the last crawl
    total = sum(r["posts"] for r in project.stats("platform,target"))
    assert total == len(storable) + 2
    assert rows(project, "select count(*), count(distinct post_id) from posts") == [(total, total)]

    # Authors are pseudonyms; no raw name is stored anywhere.
    authors = {a for (a,) in rows(project, "select author from posts")}
    assert all(a is None or len(a) == 32 for a in authors)
    for file in tmp_path.glob("e2e.db*"):
        assert "Айгуль".encode() not in file.read_bytes()


def test_each_broken_target_gets_its_status(tmp_path: Path, web: Any) -> None:
    site = default_site()
    site.errors["/feeds/limited.rss"] = [429] * 10
    server = web(site)
    project = write_config(
        tmp_path,
        [
            {
                "name": "web-mixed",
                "platform": "web",
                "requests_per_second": "0",
                "targets": targets(
                    server, "rss", "html", "/missing.xml", "/private/feed.xml", "/feeds/limited.rss"
                ),
                "selectors": SELECTORS,
            },
            {
                "name": "web-strict",
                "platform": "web",
                "requests_per_second": "0",
                "kind": "sitemap",
                "targets": targets(server, "rss"),
                "selectors": SELECTORS,
            },
        ],
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    status = {
        (s, t.removeprefix(server.base)): (st, reason)
        for s, t, st, reason in rows(
            project, "select source, target, status, reason from run_targets"
        )
    }
    assert status[("web-mixed", PATHS["rss"])][0] == "ok"
    assert status[("web-mixed", PATHS["html"])] == (
        "layout-changed",
        f"{server.url('html')}: got an HTML page, not a feed or sitemap (is the URL a feed's address?)",
    )
    assert status[("web-mixed", "/missing.xml")][0] == "inaccessible"
    assert "HTTP 404" in status[("web-mixed", "/missing.xml")][1]
    assert status[("web-mixed", "/private/feed.xml")][0] == "inaccessible"
    assert "robots.txt" in status[("web-mixed", "/private/feed.xml")][1]
    assert status[("web-mixed", "/feeds/limited.rss")][0] == "rate-limited"
    assert status[("web-strict", PATHS["rss"])][0] == "layout-changed"
    assert "root element <rss> is not a sitemap" in status[("web-strict", PATHS["rss"])][1]
    assert server.requests_for("/private/feed.xml") == 0
    # The crawl summary names each problem.
    for needle in ("layout-changed", "inaccessible", "rate-limited", "missing.xml"):
        assert needle in done.stdout + done.stderr, needle


def test_window_and_cap_per_target(tmp_path: Path, web: Any) -> None:
    site = default_site()
    server = web(site)
    project = write_config(
        tmp_path,
        [
            {
                "name": "web-window",
                "platform": "web",
                "requests_per_second": "0",
                "since": "2025-12-31",
                "targets": targets(server, "rss"),
                "selectors": SELECTORS,
            },
            {
                "name": "web-capped",
                "platform": "web",
                "requests_per_second": "0",
                "fetch_articles": "false",
                "max_posts_per_target": "2",
                "targets": targets(server, "atom"),
            },
        ],
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    since = NOW - DAY  # 2025-12-31
    in_window = [a for a in site.news if a.published >= since]
    assert 0 < len(in_window) < len(site.news)
    by_source = {r["source"]: r["posts"] for r in project.stats("source")}
    assert by_source == {"web-window": len(in_window), "web-capped": 2}
    # Articles older than the window are not even fetched.
    assert sorted(p for p in server.paths() if p.startswith("/news/")) == sorted(
        a.path for a in in_window
    )
    newest_blog = {server.base + a.path for a in site.blog[:2]}
    assert {u for (u,) in rows(project, "select url from posts where source='web-capped'")} == (
        newest_blog
    )
