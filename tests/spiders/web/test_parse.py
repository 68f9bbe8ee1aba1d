"""Web parsers on fixture files, each paired with what it must produce."""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spiders.web.markup import canonical_url, html_to_text, parse_date
from spiders.web.parse import (
    Feed,
    LayoutError,
    Sitemap,
    Unreadable,
    parse_article,
    parse_document,
    parse_feed,
    parse_sitemap,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "web"
FEED_URLS = {
    "news.rss": "https://news.example.kg/rss.xml",
    "blog.atom": "https://blog.example.uz/feed.atom",
    "malformed.rss": "https://news.example.kz/rss",
    "rdf.rss": "https://old.example.kg/index.rdf",
}


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def expected(name: str) -> Any:
    stem = name.rsplit(".", 1)[0]
    return json.loads((FIXTURES / f"{stem}.expected.json").read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(FEED_URLS))
def test_feed_matches_expected_entries(name: str) -> None:
    feed = parse_feed(body(name), FEED_URLS[name])
    want = expected(name)
    assert feed.format == want["format"]
    assert feed.title == want["title"]
    assert feed.malformed == want["malformed"]
    assert [_plain(asdict(e)) for e in feed.entries] == want["entries"]


def test_malformed_entries_are_counted_and_the_rest_parsed() -> None:
    feed = parse_feed(body("malformed.rss"), FEED_URLS["malformed.rss"])
    assert len(feed.malformed) == 3
    assert len(feed.entries) == 2


@pytest.mark.parametrize("name", ["sitemap.xml", "sitemap_index.xml"])
def test_sitemap_matches_expected_links(name: str) -> None:
    sitemap = parse_sitemap(body(name), "https://news.example.tj/sitemap.xml")
    want = expected(name)
    assert sitemap.is_index is want["is_index"]
    assert sitemap.malformed == want["malformed"]
    assert [_plain(asdict(link)) for link in sitemap.links] == want["links"]


def test_auto_detection_by_root_element() -> None:
    assert isinstance(parse_document(body("blog.atom"), "https://b.example/"), Feed)
    assert isinstance(parse_document(body("sitemap_index.xml"), "https://b.example/"), Sitemap)
    with pytest.raises(LayoutError, match="is not a sitemap"):
        parse_document(body("news.rss"), "https://b.example/", "sitemap")
    with pytest.raises(LayoutError, match="is not an RSS/Atom feed"):
        parse_document(body("sitemap.xml"), "https://b.example/", "feed")


def test_gzipped_sitemap_is_unpacked() -> None:
    packed = gzip.compress(body("sitemap.xml"))
    assert len(parse_sitemap(packed, "https://news.example.tj/s.xml.gz").links) == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (body("not_a_feed.html"), "got an HTML page"),
        (b"<?xml version='1.0'?><html><body/></html>", "root element <html>"),
        (b"<rss version='2.0'/>", "without a <channel>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<rss><channel><title>&b;</title></channel></rss>",
            "declares XML entities",
        ),
    ],
)
def test_documents_that_are_neither_feed_nor_sitemap(raw: bytes, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        parse_document(raw, "https://x.example/feed")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty document"),
        (b"<rss><channel><item></channel></rss>", "not well-formed XML"),
        (b'{"items": []}', "not well-formed XML"),
        (body("news.rss")[:-40], "not well-formed XML, cut off"),
        (gzip.compress(body("sitemap.xml"))[:-30], "broken gzip file, cut off"),
    ],
)
def test_documents_cut_off_or_garbled_are_unreadable_not_a_layout_change(
    raw: bytes, message: str
) -> None:
    with pytest.raises(Unreadable, match=message):
        parse_document(raw, "https://x.example/feed")


def test_the_example_configs_date_selector_reads_the_attribute() -> None:
    page = (
        '<html><body><h1>T</h1><article><p>Text</p><time datetime="2025-03-01T10:00:00Z">'
        "1 March</time></article></body></html>"
    )
    when = datetime(2025, 3, 1, 10, tzinfo=UTC)
    for date in ("time::attr(datetime)", "time", "article time"):
        art = parse_article(page, body="article p", title="h1", date=date)
        assert art.published_at == when, date
    assert parse_article(page, body="article p", date="time::text").published_at is None


def test_not_a_feed_fixture_message() -> None:
    with pytest.raises(LayoutError) as err:
        parse_document(body("not_a_feed.html"), "https://x.example/")
    assert str(err.value) == expected("not_a_feed.html")["message"]


def test_article_by_selectors() -> None:
    want = expected("article.html")
    article = parse_article(body("article.html").decode(), **want["selectors"])
    assert _plain(asdict(article)) == want["article"]


def test_article_whose_body_selector_matches_nothing() -> None:
    want = expected("article_changed.html")
    with pytest.raises(LayoutError) as err:
        parse_article(body("article_changed.html").decode(), **want["selectors"])
    assert str(err.value) == want["message"]


def test_article_pseudo_element_selectors_and_fallbacks() -> None:
    html = body("article.html").decode()
    article = parse_article(
        html,
        body="div.article-body p::text",
        title="title::text",
        date='meta[property="article:published_time"]',
        author=".missing",
    )
    assert article.title == "Суд рассмотрел дело | Fake News"
    assert article.text.splitlines()[0].startswith("Суд рассмотрел дело о членстве")
    assert article.published_at == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert article.author is None
    undated = parse_article(html, body="div.article-body", date=".byline .author")
    assert undated.published_at is None  # a date selector on text that is no date: no date


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2025-12-31", datetime(2025, 12, 31, tzinfo=UTC)),
        ("2025-12", datetime(2025, 12, 1, tzinfo=UTC)),
        ("2025-12-31T22:00:00+06:00", datetime(2025, 12, 31, 16, tzinfo=UTC)),
        ("2025-12-31T16:00:00.250Z", datetime(2025, 12, 31, 16, 0, 0, 250000, tzinfo=UTC)),
        ("Wed, 31 Dec 2025 16:00:00 GMT", datetime(2025, 12, 31, 16, tzinfo=UTC)),
        ("31 Dec 2025 22:00 +0600", datetime(2025, 12, 31, 16, tzinfo=UTC)),
        ("31.12.2025 22:00", datetime(2025, 12, 31, 22, tzinfo=UTC)),
        ("", None),
    ],
)
def test_dates(raw: str, want: datetime | None) -> None:
    assert parse_date(raw) == want


def test_unreadable_date_raises() -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_date("вчера вечером")


def test_canonical_urls() -> None:
    assert canonical_url("HTTPS://Example.ORG:443/a?utm_source=x&id=3#top") == (
        "https://example.org/a?id=3"
    )
    assert canonical_url("/b", "http://example.org:8080/feed") == "http://example.org:8080/b"
    assert canonical_url("http://example.org") == "http://example.org/"
    for bad in ("mailto:a@example.org", "javascript:void(0)", "ftp://example.org/x", "", "//"):
        assert canonical_url(bad) is None


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    html = "<div><h2>Head</h2><p>One  <b>bold</b>\n word.</p><ul><li>a</li><li>b</li></ul><style>p{}</style></div>"
    assert html_to_text(html) == "Head\nOne bold word.\na\nb"
    assert html_to_text("Ампер &amp; &laquo;кавычки&raquo;") == "Ампер & «кавычки»"


def test_hostile_values_in_a_feed_cost_at_most_their_entry() -> None:
    feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://[broken/">'
        b"<entry><id>tag:a,1</id><published>0001-01-01T00:00:00+05:00</published></entry>"
        b'<entry><id>tag:a,2</id><link href="http://[::1"/><published>2025-01-02</published>'
        b"<title>kept</title></entry></feed>"
    )
    doc = parse_feed(feed, "https://x.example/feed")
    assert [e.post_id for e in doc.entries] == ["tag:a,2"] and doc.entries[0].url is None
    assert doc.malformed == [
        "entry 1: unreadable date: '0001-01-01T00:00:00+05:00' is beyond the calendar"
    ]
    unknown = b'<?xml version="1.0" encoding="TF-8"?><rss><channel/></rss>'
    with pytest.raises(Unreadable, match="encoding"):
        parse_document(unknown, "https://x.example/feed")
