"""A site's robots.txt Crawl-delay slows a real `vemeter crawl` of it below the source's own rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.web_data import default_site
from tests.e2e.test_web_crawl import SELECTORS, targets, web, write_config

pytestmark = pytest.mark.e2e

__all__ = ["web"]  # the fixture, shared with the main web crawl tests

CRAWL_DELAY = 0.3


def test_crawl_delay_spaces_every_request_to_the_host(tmp_path: Path, web: Any) -> None:
    server = web(default_site())
    server.crawl_delay = CRAWL_DELAY
    # Two sources on one host, each allowed 20 requests/s: the host's Crawl-delay is stricter,
    # and binds their requests together.
    project = write_config(
        tmp_path,
        [
            {
                "name": "web-news",
                "platform": "web",
                "requests_per_second": "20",
                "max_posts_per_target": "4",
                "targets": targets(server, "rss"),
                "selectors": SELECTORS,
            },
            {
                "name": "web-blog",
                "platform": "web",
                "requests_per_second": "20",
                "fetch_articles": "false",
                "targets": targets(server, "atom"),
            },
        ],
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert "2 of 2 targets ok" in done.stdout

    gaps = server.gaps()  # robots.txt itself is fetched once, outside the limit
    assert len(gaps) >= 4, server.paths()
    assert min(gaps) >= 0.8 * CRAWL_DELAY, gaps
    assert server.requests_for("/robots.txt") == 1
    # Noted once for the host, with why the crawl is slower than the sources ask.
    note = f"robots.txt Crawl-delay {CRAWL_DELAY:g} s: at most one request every"
    assert done.stderr.count(note) == 1, done.stderr
    assert "requests_per_second: 20" in done.stderr
