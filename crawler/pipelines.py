"""The item pipeline: normalise → de-duplicate → classify → store (the last two off-thread)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

from classifiers.normalize import clean_text
from crawler.classification import build_classifier
from crawler.items import PostItem
from crawler.storing import BackgroundStore
from crawler.targets import INACCESSIBLE, OK
from storage.engine import open_database
from storage.runs import TargetOutcome, finish_run, record_targets, start_run

log = logging.getLogger(__name__)


def vemeter_version() -> str:
    try:
        return version("vemeter")
    except PackageNotFoundError:
        return "0+unknown"


class StoragePipeline:
    """Store every post once per run and across runs, then record the run and its targets."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[tuple[str, str]] = set()
        self.duplicates: Counter[tuple[str, str]] = Counter()
        self.store: BackgroundStore | None = None
        self.run_id = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        pipeline = cls(crawler)
        crawler.vemeter_pipeline = pipeline  # type: ignore[attr-defined]  # read by progress displays
        return pipeline

    def open_spider(self) -> None:
        spider: Any = self.crawler.spider
        cfg = spider.project_config
        self.engine = open_database(cfg.database_url)
        # `vemeter crawl` builds (and checks) the classifier before the crawl starts.
        classifier = getattr(spider, "classifier", None) or build_classifier(cfg)
        versions = classifier.versions
        self.run_id = start_run(
            self.engine,
            project=cfg.project,
            config_hash=cfg.config_hash,
            version=vemeter_version(),
            classifiers=versions,
        )
        self.store = BackgroundStore(
            self.engine,
            self.run_id,
            classifier.classify,
            versions,
            cfg.privacy.keep_text,
            cfg.storage.batch_size,
        )
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("vemeter/run_id", self.run_id)
        self.crawler.stats.set_value("vemeter/database", cfg.database_url)

    def process_item(self, item: PostItem) -> PostItem:
        if item.key in self.seen:
            # The same post again in this run: a page shifted by new posts, or a search hit.
            self.duplicates[(item.source, item.target)] += 1
            return item
        self.seen.add(item.key)
        item.text = clean_text(item.text)
        if item.extra_text:
            item.extra_text = clean_text(item.extra_text)
        assert self.store is not None
        self.store.submit(item)
        return item

    def live_counts(self) -> tuple[int, int, int]:
        """(new, already stored, flagged) so far, for progress displays."""
        if self.store is None:
            return 0, 0, 0
        t = self.store.totals
        return t.new, t.seen + sum(self.duplicates.values()), t.flagged

    def close_spider(self) -> None:
        if self.store is None:
            return
        spider: Any = self.crawler.spider
        totals = self.store.close()
        message = None
        if self.store.error is not None:
            message = self._save_unsaved(spider)
            log.error(message)
        reports = spider.target_reports()
        outcomes = []
        for r in reports:
            key = (r.source, r.target)
            outcomes.append(
                TargetOutcome(
                    platform=r.platform,
                    source=r.source,
                    target=r.target,
                    status=r.status,
                    reason=r.reason,
                    posts_new=totals.per_target_new[key],
                    posts_seen=totals.per_target_seen[key] + self.duplicates[key],
                    # A target whose posts could not all be stored must be fetched again.
                    complete=r.complete and self.store.error is None,
                    newest_post_id=r.newest_post_id,
                    newest_published_at=r.newest_published_at,
                )
            )
        record_targets(self.engine, self.run_id, outcomes)
        problems = [o for o in outcomes if o.status not in (OK, INACCESSIBLE)]
        status = "failed" if self.store.error else ("partial" if problems else "ok")
        stats = self.crawler.stats
        assert stats is not None
        finish_run(
            self.engine,
            self.run_id,
            status=status,
            new=totals.new,
            seen=totals.seen + sum(self.duplicates.values()),
            flagged=totals.flagged,
            requests=int(stats.get_value("downloader/request_count", 0) or 0),
            message=message,
        )
        stats.set_value("vemeter/run_status", status)
        self.engine.dispose()

    def _save_unsaved(self, spider: Any) -> str:
        """Write posts the database refused to a JSONL file beside the config: nothing is lost."""
        assert self.store is not None
        path = Path(spider.project_config.path).parent / f"vemeter-unsaved-run{self.run_id}.jsonl"
        with path.open("a", encoding="utf-8") as fh:
            for item in self.store.unsaved:
                row = dataclasses.asdict(item)
                row["published_at"] = item.published_at.isoformat()
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return (
            f"storing posts failed ({self.store.error}); {len(self.store.unsaved)} posts saved to {path} "
            "(JSON lines): fix the database, then crawl again with --full or import the file"
        )
