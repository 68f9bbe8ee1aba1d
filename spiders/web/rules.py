"""The config model of a web source: which feeds and sitemaps, how to read article pages, how fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal
from urllib.parse import urlsplit

from parsel.csstranslator import HTMLTranslator
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawler.rules_base import Problem, SourceRules

_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_TRANSLATOR = HTMLTranslator()
MAX_TARGET = 128  # storage keeps a target in 128 characters


def normalise_target(raw: str) -> str:
    """A feed or sitemap address as given, checked to be an absolute http(s) URL."""
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{raw!r} is not an http(s) URL of a feed or sitemap "
            "(e.g. https://example.org/rss.xml or https://example.org/sitemap.xml)"
        )
    if len(value) > MAX_TARGET:
        raise ValueError(
            f"{raw[:60]!r}… is longer than {MAX_TARGET} characters, the database's limit for a target"
        )
    return value


class Selectors(BaseModel):
    """CSS selectors (parsel dialect: `::text` and `::attr(name)` allowed) for article pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = Field(None, description="the headline; default: the feed entry's title")
    body: str | None = Field(None, description="the article text; required when fetching pages")
    date: str | None = Field(
        None, description="publication date (a <time datetime> works); default: feed/sitemap date"
    )
    author: str | None = Field(None, description="author name; pseudonymised at once")

    @field_validator("title", "body", "date", "author")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        try:
            _TRANSLATOR.css_to_xpath(value)
        except Exception as exc:  # cssselect raises several unrelated error types
            raise ValueError(f"{value!r} is not a CSS selector ({exc})") from None
        return value


class WebRules(SourceRules):
    """A web source: sites read through their RSS/Atom feeds or sitemaps, articles by CSS selectors."""

    platform: Literal["web"]
    kind: Literal["auto", "feed", "sitemap"] = Field(
        "auto", description="what the targets are; auto: decided by each document's root element"
    )
    selectors: Selectors = Field(default_factory=lambda: Selectors())
    fetch_articles: bool = Field(
        True, description="fetch each article page; false: keep the feed entry's content only"
    )
    requests_per_second: float = Field(
        1.0,
        ge=0,
        description="per host, across all requests; a stricter robots.txt Crawl-delay wins; "
        "0 lifts this limit (local tests only)",
    )
    allow_domains: list[str] | None = Field(
        None,
        description="domains (and their subdomains) articles and sitemaps may be fetched from; "
        "default: each target's own host",
    )

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        # A target listed twice would be crawled twice under one name.
        return list(dict.fromkeys(normalise_target(t) for t in value))

    @field_validator("allow_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for raw in value:
            domain = raw.strip().lower().removeprefix("*.").removeprefix(".")
            if not _HOST.match(domain):
                raise ValueError(f"{raw!r} is not a domain name (write example.org, not a URL)")
            out.append(domain)
        return out

    def cross_problems(self) -> Iterator[Problem]:
        yield from super().cross_problems()
        if not self.targets:
            yield ("targets",), "a web source needs `targets`: feed or sitemap URLs"
        if self.searches:
            yield (
                ("searches",),
                ("web sources have no keyword search; list feed or sitemap URLs in `targets`"),
            )
        if self.fetch_articles and not self.selectors.body:
            yield (
                ("fetch_articles", "selectors"),
                (
                    "`selectors.body` is required when fetch_articles is true "
                    "(the CSS selector of the article text, e.g. 'article .content')"
                ),
            )
        if self.kind == "sitemap" and not self.fetch_articles:
            yield (
                ("kind", "fetch_articles"),
                ("a sitemap lists pages only: set fetch_articles: true and selectors.body"),
            )
