"""Scrapy extensions: write a crawl's stats to a JSON file (VEMETER_STATS_FILE), for provenance and benchmarks."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class StatsFile:
    """Dump the crawler's stats as JSON when the spider closes."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsFile:
        path = crawler.settings.get("VEMETER_STATS_FILE")
        if not path:
            raise NotConfigured
        ext = cls(crawler, Path(path))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.started = time.monotonic()

    def spider_closed(self, reason: str) -> None:
        assert self.crawler.stats is not None
        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = reason
        # Pipelines have closed (and flushed) before spider_closed fires: storage is included.
        stats["vemeter/elapsed_seconds"] = time.monotonic() - self.started
        self.path.write_text(
            json.dumps(
                json_safe(stats),
                default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                indent=2,
            ),
            encoding="utf-8",
        )


def json_safe(value: Any) -> Any:
    """Stats as JSON can hold them: a tuple key (source, target) becomes "source/target"."""
    if isinstance(value, dict):
        return {
            "/".join(map(str, k)) if isinstance(k, tuple) else k: json_safe(v)
            for k, v in value.items()
        }
    return value
