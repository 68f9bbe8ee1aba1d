"""A deterministic fake news website on 127.0.0.1 (robots.txt, RSS, Atom, sitemaps, articles)."""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from itertools import pairwise
from urllib.parse import urlsplit

from spiders.fakes.http import (
    FakeHTTPServer,
    FakeService,
    QuietHandler,
    most_in_window,
    serve_until_stopped,
)
from spiders.fakes.web_data import FakeArticle, FakeSite, default_site

ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PATHS = {
    "rss": "/feeds/news.rss",
    "atom": "/feeds/blog.atom",
    "index": "/sitemap_index.xml",
    "news_sitemap": "/sitemaps/news.xml",
    "archive_sitemap": "/sitemaps/archive.xml",
    "html": "/about.html",
}
_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class RequestRecord:
    time: float  # time.monotonic()
    path: str
    user_agent: str


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def _rfc822(ts: int) -> str:
    return format_datetime(datetime.fromtimestamp(ts, tz=UTC), usegmt=True)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


class FakeWeb(FakeService):
    """The fake site on 127.0.0.1, every request logged; change `site` between runs to publish.

        with FakeWeb(default_site()) as web:
            httpx.get(f"{web.base}/feeds/news.rss")

    `python -m spiders.fakes.web --port 8766` serves it until Ctrl-C, printing its base URL.
    """

    def __init__(self, site: FakeSite | None = None) -> None:
        self.site = site or default_site()
        self.crawl_delay: float | None = None  # seconds; served in robots.txt when set
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._hits: dict[str, int] = {}

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.origin

    def url(self, name_or_path: str) -> str:
        return self.base + PATHS.get(name_or_path, name_or_path)

    # --- introspection -----------------------------------------------------------------
    def requests_for(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.request_log if r.path == path)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.request_log]

    def max_requests_in_window(self, window: float = 1.0, skip: tuple[str, ...] = ()) -> int:
        """Most requests (except paths in `skip`) that arrived in any half-open [t, t+window)."""
        with self._lock:
            times = [r.time for r in self.request_log if r.path not in skip]
        return most_in_window(times, window)

    def gaps(self, skip: tuple[str, ...] = ("/robots.txt",)) -> list[float]:
        """Seconds between consecutive requests (except paths in `skip`), in arrival order."""
        with self._lock:
            times = sorted(r.time for r in self.request_log if r.path not in skip)
        return [b - a for a, b in pairwise(times)]

    # --- serving (handler threads) -----------------------------------------------------
    def handle(self, path: str, user_agent: str) -> tuple[int, str, bytes]:
        with self._lock:
            self.request_log.append(RequestRecord(time.monotonic(), path, user_agent))
            nth = self._hits[path] = self._hits.get(path, 0) + 1
            injected = self.site.errors.get(path, [])
            if nth <= len(injected):
                return injected[nth - 1], _TYPES["text"], b"injected error\n"
            return self._page(path)

    def _page(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            delay = f"Crawl-delay: {self.crawl_delay:g}\n" if self.crawl_delay else ""
            return 200, _TYPES["text"], ROBOTS + delay.encode()
        if path == PATHS["rss"]:
            return 200, _TYPES["rss"], self._rss()
        if path == PATHS["atom"]:
            return 200, _TYPES["atom"], self._atom()
        if path == PATHS["index"]:
            return 200, _TYPES["xml"], self._index()
        if path == PATHS["news_sitemap"]:
            urls = [(a.path, _iso(a.published)) for a in self.site.news + self.site.news_archive]
            return 200, _TYPES["xml"], _urlset(self.base, urls)
        if path == PATHS["archive_sitemap"]:
            # Day-only lastmod, as many sites write it; the time is on the page.
            urls = [(a.path, _day(a.published)) for a in self.site.archive]
            return 200, _TYPES["xml"], _urlset(self.base, urls)
        if path == PATHS["html"]:
            return 200, _TYPES["html"], b"<!DOCTYPE html><html><body><p>About us</p></body></html>"
        article = self.site.by_path().get(path)
        if article is not None:
            return 200, _TYPES["html"], _article_page(article)
        return 404, _TYPES["html"], b"<!DOCTYPE html><html><body>Not found</body></html>"

    def _rss(self) -> bytes:
        items = []
        for a in sorted(self.site.news + self.site.private, key=lambda a: -a.published):
            link = self.base + a.path
            summary = escape(f"<p>{a.paragraphs[0]}</p>")
            items.append(
                f"<item><title>{escape(a.title)}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid><pubDate>{_rfc822(a.published)}</pubDate>'
                f"<dc:creator>{escape(a.author)}</dc:creator>"
                f"<description>{summary}</description></item>"
            )
        for n in range(self.site.malformed_items):
            # Neither link nor guid: a crawler cannot tell this entry apart from any other.
            items.insert(
                2,
                f"<item><title>Broken entry {n + 1}</title><pubDate>not a date</pubDate>"
                "<description>An entry without link or guid.</description></item>",
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Fake News</title>'
            f"<link>{self.base}/</link><description>Local test site</description>"
            + "".join(items)
            + "</channel></rss>\n"
        ).encode()

    def _atom(self) -> bytes:
        entries = []
        for i, a in enumerate(self.site.blog):
            if i == 1:  # inline XHTML content, as some blogs serve it
                body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
                content = f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{body}</div></content>'
            else:
                html = escape("".join(f"<p>{escape(p)}</p>" for p in a.paragraphs))
                content = f'<content type="html">{html}</content>'
            entries.append(
                f"<entry><id>tag:fake-web.example,2025:{a.path}</id>"
                f"<title>{escape(a.title)}</title>"
                f'<link rel="alternate" href="{self.base}{a.path}"/>'
                f"<published>{_iso(a.published)}</published><updated>{_iso(a.published)}</updated>"
                f"<author><name>{escape(a.author)}</name></author>{content}</entry>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Fake Blog</title><id>tag:fake-web.example,2025:blog</id>"
            f"<updated>{_iso(max(a.published for a in self.site.blog))}</updated>"
            + "".join(entries)
            + "</feed>\n"
        ).encode()

    def _index(self) -> bytes:
        parts = []
        for path, articles in (
            (PATHS["news_sitemap"], self.site.news + self.site.news_archive),
            (PATHS["archive_sitemap"], self.site.archive),
        ):
            newest = max(a.published for a in articles)
            parts.append(
                f"<sitemap><loc>{self.base}{path}</loc><lastmod>{_iso(newest)}</lastmod></sitemap>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(parts)
            + "</sitemapindex>\n"
        ).encode()


def _urlset(base: str, urls: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<url><loc>{base}{p}</loc><lastmod>{m}</lastmod></url>" for p, m in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>\n'
    ).encode()


def _article_page(a: FakeArticle) -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    when = datetime.fromtimestamp(a.published, tz=UTC)
    if a.layout_changed:  # the redesign moved the text out of div.article-body
        main = (
            f'<main><h2 class="title-v2">{escape(a.title)}</h2>'
            f'<section class="story-text">{paragraphs}</section></main>'
        )
    else:
        main = (
            f'<article><h1 class="headline">{escape(a.title)}</h1><p class="byline">'
            f'<span class="author">{escape(a.author)}</span> · <time datetime="{when.isoformat()}">'
            f'{when:%d.%m.%Y %H:%M}</time></p><div class="article-body">{paragraphs}'
            "<script>window.counter = 1;</script></div></article>"
        )
    return (
        f'<!DOCTYPE html><html lang="{a.lang}"><head><meta charset="utf-8">'
        f"<title>{escape(a.title)} | Fake News</title></head><body>"
        f'<nav><a href="/">Fake News</a></nav>{main}<footer>© Fake News</footer></body></html>'
    ).encode()


class _Server(FakeHTTPServer):
    fake: FakeWeb


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        status, ctype, body = self.server.fake.handle(path, self.headers.get("User-Agent", ""))
        # Retry-After 0: tests stay fast; the crawler still retries.
        self.send_answer(status, body, ctype, "0" if status in (429, 503) else None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve a fake news website on 127.0.0.1")
    ap.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    a = ap.parse_args(argv)
    fake = FakeWeb(default_site()).start(a.port)
    serve_until_stopped(fake, fake.base)


FakeWeb.handler = _Handler


if __name__ == "__main__":
    main()
