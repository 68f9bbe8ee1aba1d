"""The stats file: written whatever the stats hold (a crawl's provenance and the benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.utils.test import get_crawler

from crawler.extensions import StatsFile


def test_stats_with_per_target_keys_are_written(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    crawler = get_crawler(settings_dict={"VEMETER_STATS_FILE": str(path)})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    extension = StatsFile.from_crawler(crawler)
    extension.spider_opened()
    crawler.stats.set_value("vemeter/flagged_by_target", {("vk-src", "club1"): 3})  # type: ignore[union-attr]
    extension.spider_closed("finished")
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["vemeter/flagged_by_target"] == {"vk-src/club1": 3}
    assert written["finish_reason"] == "finished"
