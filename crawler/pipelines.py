"""The item pipeline: de-duplicate here, then normalise → classify → store in the writer process."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

from crawler.items import PostItem, TargetReport
from crawler.storing import BackgroundStore, StoreSpec
from crawler.targets import ERROR, INACCESSIBLE, OK
from crawler.version import vemeter_version
from storage.engine import open_database
from storage.retention import erase_old_text
from storage.runs import TargetOutcome, finish_run, record_targets, start_run
from storage.writer import BatchResult

log = logging.getLogger(__name__)


class StoragePipeline:
    """Store every post once per run and across runs, then record the run and its targets."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[int] = set()
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
        # A key other than the one this database's pseudonyms were made with is refused
        # (`vemeter crawl` checks it before the first request; `scrapy crawl` here).
        spider.pseudonymise.check_database(self.engine)
        # The writer process reports the classifier versions; finish_run records them.
        self.run_id = start_run(
            self.engine, project=cfg.project, config_hash=cfg.config_hash,
            version=vemeter_version(), classifiers={},
        )  # fmt: skip
        spec = StoreSpec.for_config(
            cfg, self.run_id, Path(cfg.path).parent / f"vemeter-unsaved-run{self.run_id}.jsonl"
        )
        self.store = BackgroundStore(spec, cfg.storage.batch_size)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("vemeter/run_id", self.run_id)
        # Stats reach disk (VEMETER_STATS_FILE): never with the database password.
        self.crawler.stats.set_value("vemeter/database", self.engine.url.render_as_string())

    def process_item(self, item: PostItem) -> PostItem:
        # 8-byte digests instead of the keys: a few MB for a million posts (collision odds ~1e-7).
        key = int.from_bytes(
            hashlib.blake2b(f"{item.platform}:{item.post_id}".encode(), digest_size=8).digest()
        )
        if key in self.seen:
            # The same post again in this run: a page shifted by new posts, or a search hit.
            self.duplicates[(item.source, item.target)] += 1
            return item
        self.seen.add(key)
        assert self.store is not None
        self.store.submit(item)
        return item

    def live_counts(self) -> tuple[int, int, int]:
        """(new, already stored, flagged) so far, for progress displays."""
        if self.store is None:
            return 0, 0, 0
        t = self.store.poll()
        return t.new, t.seen + sum(self.duplicates.values()), t.flagged

    def _outcome(self, r: TargetReport, totals: BatchResult) -> TargetOutcome:
        """A target's record for this run; silence where there were posts is a likely break."""
        assert self.store is not None
        key = (r.source, r.target)
        status, reason, complete = r.status, r.reason, r.complete
        spider: Any = self.crawler.spider
        before = spider.previous_crawl(r.source, r.target)
        if status == OK and r.observed == 0 and before is not None and before.last_posts > 0:
            # A changed page, a lost token scope or a ban looks like an empty target.
            status, complete = ERROR, False
            reason = (
                f"likely break: the previous run saw {before.last_posts} posts here, this one none "
                "(check the target in a browser, and the parser)"
            )
            log.warning("%s %s: %s", r.source, r.target, reason)
        return TargetOutcome(
            platform=r.platform,
            source=r.source,
            target=r.target,
            status=status,
            reason=reason,
            posts_new=totals.per_target_new[key],
            posts_seen=totals.per_target_seen[key] + self.duplicates[key],
            # A target whose posts could not all be stored must be fetched again.
            complete=complete and self.store.error is None,
            newest_post_id=r.newest_post_id,
            newest_published_at=r.newest_published_at,
            observed=r.observed,
            pages=r.pages,
            signal=r.signal,
        )

    def close_spider(self) -> None:
        if self.store is None:
            return
        spider: Any = self.crawler.spider
        totals = self.store.close()
        message = None
        if self.store.error is not None:
            message = (
                f"storing posts failed ({self.store.error}); {self.store.unsaved} posts saved to "
                f"{self.store.spec.unsaved_path} (JSON lines): fix the database, then crawl again"
            )
            log.error(message)
        outcomes = [self._outcome(r, totals) for r in spider.target_reports()]
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
            classifiers=self.store.versions,
        )
        stats.set_value("vemeter/run_status", status)
        # For the end-of-crawl table (crawler.runner): flagged new posts per target, and the
        # stored posts that got the text privacy.keep_text now allows (a `crawl --full`).
        stats.set_value("vemeter/flagged_by_target", dict(totals.per_target_flagged))
        stats.set_value("vemeter/text_filled", totals.text_filled)
        if totals.text_filled:
            log.info("filled the text of %d stored posts", totals.text_filled)
        erased = erase_old_text(self.engine, spider.project_config.privacy.text_retention_days)
        if erased:
            log.info("erased the text of %d posts past privacy.text_retention_days", erased)
        stats.set_value("vemeter/text_erased", erased)
        self.engine.dispose()
