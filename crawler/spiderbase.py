"""What every platform's spider shares: the project config, pseudonyms, targets and resume points.

A platform spider subclasses SourceSpider, sets `name` (the platform key) and `rules_type`
(its config model), and uses `book` to give each target a final status.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast

import scrapy

from crawler.config import ProjectConfig, load_config, with_window
from crawler.items import TargetReport
from crawler.pseudonym import Pseudonymiser
from crawler.rules_base import SourceRules, as_utc
from crawler.targets import OK, TargetBook
from storage.engine import open_database
from storage.runs import Resume, load_resume_points

log = logging.getLogger(__name__)

R = TypeVar("R", bound=SourceRules)


def parse_when(value: str | datetime | None) -> datetime | None:
    """A `-a since=…` spider argument (ISO date or datetime, UTC) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


class SourceSpider(scrapy.Spider, Generic[R]):
    """Base of platform spiders: `scrapy crawl KEY -a config=FILE [-a source=NAME]` works for each."""

    rules_type: ClassVar[type[SourceRules]]

    def __init__(
        self,
        config: str | Path | ProjectConfig | None = None,
        source: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        full: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if config is None:
            raise ValueError(
                f"the {self.name} spider needs a project config: scrapy crawl {self.name} -a config=FILE"
            )
        cfg = config if isinstance(config, ProjectConfig) else load_config(config)
        self.project_config: ProjectConfig = with_window(cfg, parse_when(since), parse_when(until))
        self.rules: list[R] = [
            cast(R, s)
            for s in self.project_config.sources
            if isinstance(s, self.rules_type) and (source is None or s.name == source)
        ]
        if source is not None and not self.rules:
            self.project_config.source(source)  # raises a ConfigError naming the sources
        self.full = str(full).lower() in ("1", "true", "yes")
        self.pseudonymise = Pseudonymiser.from_env(self.project_config.privacy.pseudonym_key_env)
        self.book = TargetBook(self.name)

    def target_reports(self) -> list[TargetReport]:
        """Every target's outcome, read by the storage pipeline when the crawl ends."""
        return self.book.reports()

    def rules_for(self, source: str) -> R:
        return next(r for r in self.rules if r.name == source)

    def finish(self, source: str, target: str, status: str, reason: str | None = None) -> None:
        """Give a target its final status (the first one given is kept)."""
        if self.book.finish(source, target, status, reason) and status != OK:
            # INFO: the end-of-run summary lists every target with a problem.
            log.info("%s %s: %s (%s)", source, target, status, reason)

    def resume_points(self) -> dict[str, dict[str, Resume]]:
        """Per source, where each target's last complete crawl stopped ({} with `full`)."""
        if self.full:
            return {r.name: {} for r in self.rules}
        engine = open_database(self.project_config.database_url)
        try:
            return {r.name: load_resume_points(engine, self.name, r.name) for r in self.rules}
        finally:
            engine.dispose()
