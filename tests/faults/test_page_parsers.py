"""Telegram preview pages, feeds, sitemaps and article pages on hostile input.

Real fixtures cut off, spliced and filled with hostile values (impossible dates, broken URLs,
NULs, huge numbers, entity declarations): each parser returns its page or raises one of its own
errors, and every message or entry is a post or a reported problem. No exception escapes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st

from spiders.telegram import parse as tg
from spiders.web import markup
from spiders.web import parse as web
from tests.faults.strategies import BOUNDED, HOSTILE_TEXT, bodies, fixture

TG_PAGES = ["channel_page.html", "channel_last_page.html", "no_messages.html", "restricted.html",
            "changed_layout.html", "bad_data_post.html"]  # fmt: skip
DOCUMENTS = ["news.rss", "blog.atom", "rdf.rss", "malformed.rss", "sitemap.xml",
             "sitemap_index.xml"]  # fmt: skip
ARTICLES = ["article.html", "article_changed.html"]
# The fixtures' selectors, the example config's, and pseudo-element forms of each field.
SELECTORS = [
    {"body": "div.article-body", "title": "article h1.headline", "date": "article time",
     "author": "article .author"},
    {"body": "article .article-body p", "title": "article h1",
     "date": "article time::attr(datetime)"},
    {"body": "p::text", "title": "title::text", "date": "meta::attr(content)", "author": "nav a"},
]  # fmt: skip


@BOUNDED
@given(st.data())
def test_telegram_pages_cut_off_or_spoiled_are_read_or_reported(data: st.DataObject) -> None:
    body = data.draw(bodies(fixture("telegram", data.draw(st.sampled_from(TG_PAGES)))))
    try:
        page = tg.parse_channel_page(body)
    except (tg.LayoutError, tg.NoPublicHistory, tg.Unreadable) as exc:
        assert str(exc)
        return
    shown = BeautifulSoup(body.decode("utf-8", "replace"), "lxml").select(".tgme_widget_message")
    # Every message is a post, a service message or a skipped one with its reason.
    assert len(page.posts) + page.service_messages + len(page.skipped) == len(shown)
    assert all(reason for reason in page.skipped)
    for post in page.posts:
        assert post.published_at.tzinfo is UTC and isinstance(post.text, str)
        assert 0 <= post.message_id < 10**18 and post.post_id.count("/") == 1
        assert post.views is None or post.views >= 0
    assert page.before is None or page.before >= 0


@BOUNDED
@given(st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_TEXT)))
def test_telegram_view_counts_of_any_text(raw: str) -> None:
    views = tg.parse_views(raw)
    assert views is None or (isinstance(views, int) and views >= 0)


@BOUNDED
@given(st.data())
def test_feeds_and_sitemaps_cut_off_or_spoiled_are_read_or_reported(data: st.DataObject) -> None:
    body = data.draw(bodies(fixture("web", data.draw(st.sampled_from(DOCUMENTS)))))
    kind = data.draw(st.sampled_from(["auto", "feed", "sitemap"]))
    try:
        doc = web.parse_document(body, "https://news.example.kg/feed", kind)
    except (web.LayoutError, web.Unreadable) as exc:
        assert str(exc)
        return
    if isinstance(doc, web.Feed):
        ids = [e.post_id for e in doc.entries]
        assert len(ids) == len(set(ids)) and all(isinstance(i, str) and i for i in ids)
        for entry in doc.entries:
            assert entry.published_at is None or entry.published_at.tzinfo is UTC
            assert entry.url is None or entry.url.startswith(("http://", "https://"))
        assert all(isinstance(m, str) and m for m in doc.malformed)
    else:
        for link in doc.links:
            assert link.url.startswith(("http://", "https://"))
            for when in (link.lastmod, link.published):
                assert when is None or when.tzinfo is UTC


@BOUNDED
@given(st.data())
def test_article_pages_spoiled_are_read_or_reported(data: st.DataObject) -> None:
    body = data.draw(bodies(fixture("web", data.draw(st.sampled_from(ARTICLES)))))
    selectors = data.draw(st.sampled_from(SELECTORS))
    try:
        article = web.parse_article(body.decode("utf-8", "replace"), **selectors)
    except web.LayoutError as exc:
        assert "matched nothing" in str(exc)
        return
    assert isinstance(article.text, str) and isinstance(article.title, str)
    assert article.published_at is None or article.published_at.tzinfo is UTC


@pytest.mark.parametrize("body", ['{"":""}', "[1, 2]", "null", "42"])
def test_an_article_page_that_is_json_is_a_layout_change(body: str) -> None:
    """Found by the test above in CI: a page whose body parses as JSON was read as JSON, on
    which CSS selectors raise instead of reporting that the layout changed."""
    with pytest.raises(web.LayoutError, match="matched nothing"):
        web.parse_article(body, **SELECTORS[0])


@BOUNDED
@given(st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE_TEXT)))
def test_dates_of_any_spelling_are_a_date_none_or_a_value_error(raw: str) -> None:
    try:
        when = markup.parse_date(raw)
    except ValueError:
        return
    assert when is None or (isinstance(when, datetime) and when.tzinfo is UTC)


@BOUNDED
@given(
    st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE_TEXT)),
    st.sampled_from([None, "https://news.example.kg/a/", "http://[::1]/"]),
)
def test_urls_of_any_spelling_are_canonical_or_none(raw: str, base: str | None) -> None:
    url = markup.canonical_url(raw, base)
    assert url is None or url.startswith(("http://", "https://"))


@BOUNDED
@given(st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE_TEXT)))
def test_markup_of_any_text_becomes_text(raw: str) -> None:
    assert isinstance(markup.html_to_text(raw), str)
