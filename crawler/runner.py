"""Run a crawl of a project in this process: check everything first, show progress, summarise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy.engine import make_url

from crawler.classification import check_classifiers
from crawler.config import ProjectConfig
from crawler.errors import ConfigError
from crawler.platforms import PLATFORMS
from crawler.pseudonym import Pseudonymiser
from crawler.secrets import read_secret
from storage.engine import open_database
from storage.models import CrawlRun, RunTarget
from storage.runs import get_run, run_targets


@dataclass
class ProblemGroup:
    """One status and reason shared by one or more targets (a rejected token hits them all)."""

    number: int
    status: str
    reason: str
    targets: list[RunTarget]


@dataclass
class CrawlSummary:
    """What one `vemeter crawl` did, read back from the database."""

    database: str
    runs: list[CrawlRun] = field(default_factory=list)
    targets: list[RunTarget] = field(default_factory=list)
    # New flagged posts per (source, target), from the runs' pipelines (not a stored column).
    flagged_by_target: dict[tuple[str, str], int] = field(default_factory=dict)
    text_filled: int = 0  # stored posts given the text privacy.keep_text now allows

    @property
    def database_shown(self) -> str:
        """The database without its password (a PostgreSQL URL may carry one)."""
        if self.database.startswith("sqlite:///"):
            return self.database.removeprefix("sqlite:///")
        try:
            return make_url(self.database).render_as_string(hide_password=True)
        except Exception:
            return "(database URL not shown)"

    def flagged_of(self, target: RunTarget) -> int:
        return self.flagged_by_target.get((target.source, target.target), 0)

    def groups(self) -> list[ProblemGroup]:
        """The targets that did not end ok, grouped by status and reason, in target order."""
        found: dict[tuple[str, str], ProblemGroup] = {}
        for t in self.problems:
            key = (t.status, t.reason or "")
            if key not in found:
                found[key] = ProblemGroup(len(found) + 1, t.status, t.reason or "", [])
            found[key].targets.append(t)
        return list(found.values())

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        return "partial" if any(r.status != "ok" for r in self.runs) else "ok"

    def as_json(self) -> dict[str, Any]:
        """The machine-readable summary (`vemeter crawl --json FILE`)."""
        groups = self.groups()
        number = {(t.source, t.target): g.number for g in groups for t in g.targets}
        return {
            "status": self.status,
            "database": self.database_shown,
            "runs": [{"run_id": r.id, "status": r.status} for r in self.runs],
            "totals": {
                "posts_new": self.new,
                "posts_seen": self.seen,
                "posts_flagged": self.flagged,
                "targets": len(self.targets),
                "targets_ok": sum(1 for t in self.targets if t.status == "ok"),
                "text_filled": self.text_filled,
            },
            "targets": [
                {
                    "platform": t.platform,
                    "source": t.source,
                    "target": t.target,
                    "status": t.status,
                    "posts_new": t.posts_new,
                    "posts_seen": t.posts_seen,
                    "posts_flagged": self.flagged_of(t),
                    "reason": t.reason,
                    "problem": number.get((t.source, t.target)),
                }
                for t in self.targets
            ],
            "problems": [
                {
                    "number": g.number,
                    "status": g.status,
                    "reason": g.reason,
                    "targets": [{"source": t.source, "target": t.target} for t in g.targets],
                }
                for g in groups
            ],
        }

    @property
    def new(self) -> int:
        return sum(r.posts_new for r in self.runs)

    @property
    def seen(self) -> int:
        return sum(r.posts_seen for r in self.runs)

    @property
    def flagged(self) -> int:
        return sum(r.posts_flagged for r in self.runs)

    @property
    def problems(self) -> list[RunTarget]:
        return [t for t in self.targets if t.status != "ok"]

    @property
    def failed(self) -> bool:
        """Nothing usable came out: storage failed, or no target ended ok or inaccessible."""
        if any(r.status == "failed" for r in self.runs):
            return True
        return bool(self.targets) and all(
            t.status not in ("ok", "inaccessible") for t in self.targets
        )


def scrapy_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def preflight(config: ProjectConfig, source: str | None) -> None:
    """Fail before crawling, with one line, on anything the crawl would trip over later."""
    sources = [s for s in config.sources if source is None or s.name == source]
    if source is not None and not sources:
        config.source(source)
    pseudonymiser = Pseudonymiser.from_env(config.privacy.pseudonym_key_env)
    for s in sources:
        for env, purpose in s.secret_envs().items():
            read_secret(env, purpose, f"export {env}=…")
    if not sources:
        raise ConfigError(
            [f"{config.path}: sources: nothing to crawl (add a source; see configs/example.yaml)"]
        )
    engine = open_database(config.database_url)
    try:
        # Another key than the database's would give its authors second pseudonyms.
        pseudonymiser.check_database(engine)
    finally:
        engine.dispose()
    check_classifiers(config)


def run_crawl(
    config: ProjectConfig,
    *,
    source: str | None = None,
    full: bool = False,
    console: Console | None = None,
    settings: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl every source (or one) of `config`; returns the summary of the runs it recorded."""
    preflight(config, source)
    console = console or Console(stderr=True)
    process = CrawlerProcess(scrapy_settings({"LOG_LEVEL": "WARNING", **(settings or {})}))
    crawlers: list[Crawler] = []
    platforms = sorted({s.platform for s in config.sources if source is None or s.name == source})
    for key in platforms:
        crawler = process.create_crawler(PLATFORMS[key].spider_class())
        crawlers.append(crawler)
        process.crawl(crawler, config=config, source=source, full=full)

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("starting…", total=None)
        ticks = [0]

        def tick() -> None:
            requests = new = seen = flagged = 0
            for c in crawlers:
                if c.stats:
                    requests += int(c.stats.get_value("downloader/request_count", 0) or 0)
                pipeline = getattr(c, "vemeter_pipeline", None)
                if pipeline is not None:
                    n, s, f = pipeline.live_counts()
                    new, seen, flagged = new + n, seen + s, flagged + f
            line = f"requests {requests:,} · new posts {new:,} · already stored {seen:,} · flagged {flagged:,}"
            progress.update(task, description=line)
            ticks[0] += 1
            if not console.is_terminal and ticks[0] % 40 == 0:  # every 10 s when not on a terminal
                console.print(line, highlight=False)

        from twisted.internet import task as ttask

        loop = ttask.LoopingCall(tick)
        loop.start(0.25, now=False)
        process.start()
        if loop.running:
            loop.stop()

    engine = open_database(config.database_url)
    summary = CrawlSummary(database=config.database_url)
    for c in crawlers:
        run_id = c.stats.get_value("vemeter/run_id") if c.stats else None
        if run_id is None:
            continue
        run = get_run(engine, int(run_id))
        if run is not None:
            summary.runs.append(run)
            summary.targets.extend(run_targets(engine, run.id))
        flagged = c.stats.get_value("vemeter/flagged_by_target") if c.stats else None
        for key, n in (flagged or {}).items():
            summary.flagged_by_target[key] = summary.flagged_by_target.get(key, 0) + int(n)
        summary.text_filled += int(
            (c.stats.get_value("vemeter/text_filled") if c.stats else 0) or 0
        )
    engine.dispose()
    summary.targets.sort(key=lambda t: (t.platform, t.source, t.target))
    return summary
