"""The web source config: targets, selectors, domains and the checks that make a config crawlable."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from spiders.web.rules import WebRules

BASE: dict[str, Any] = {
    "name": "web-a",
    "platform": "web",
    "targets": ["https://news.example.kg/rss.xml"],
    "selectors": {"body": "div.article-body"},
}


def rules(**changes: Any) -> WebRules:
    return WebRules.model_validate({**BASE, **changes})


def test_defaults() -> None:
    r = rules()
    assert r.kind == "auto" and r.fetch_articles and r.requests_per_second == 1.0
    assert r.allow_domains is None and r.max_posts_per_target is None
    assert r.secret_envs() == {}


def test_targets_are_http_urls_kept_once() -> None:
    r = rules(
        targets=[" https://a.example/feed ", "https://a.example/feed", "http://b.example/s.xml"]
    )
    assert r.targets == ["https://a.example/feed", "http://b.example/s.xml"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": ["news.example.kg/rss"]}, r"is not an http\(s\) URL"),
        ({"targets": ["ftp://news.example.kg/rss"]}, r"is not an http\(s\) URL"),
        ({"targets": ["https://a.example/" + "x" * 130]}, "longer than 128 characters"),
        ({"targets": []}, "needs `targets`"),
        ({"searches": ["ИГИЛ"]}, "no keyword search"),
        ({"selectors": {}}, "`selectors.body` is required"),
        ({"selectors": {"body": "div[["}}, "is not a CSS selector"),
        ({"selectors": {"body": "p", "headline": "h1"}}, "Extra inputs"),
        ({"kind": "sitemap", "fetch_articles": False}, "a sitemap lists pages only"),
        ({"allow_domains": ["https://example.org/"]}, "is not a domain name"),
        ({"requests_per_second": -1}, "greater than or equal to 0"),
        ({"token_env": "X"}, "Extra inputs"),
    ],
)
def test_invalid_configs_say_what_to_fix(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rules(**changes)


def test_feed_content_only_needs_no_selectors() -> None:
    r = rules(fetch_articles=False, selectors={})
    assert r.selectors.body is None


def test_selectors_accept_parsel_pseudo_elements_and_domains_are_normalised() -> None:
    r = rules(
        selectors={
            "body": "article p::text",
            "date": "meta[itemprop=datePublished]::attr(content)",
        },
        allow_domains=["*.Example.ORG", ".example.kg"],
    )
    assert r.selectors.date == "meta[itemprop=datePublished]::attr(content)"
    assert r.allow_domains == ["example.org", "example.kg"]
