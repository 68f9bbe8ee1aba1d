"""What every platform's spider shares: the project config, pseudonyms, targets and resume points.

A platform spider subclasses SourceSpider, sets `name` (the platform key) and `rules_type`
(its config model), and uses `book` to give each target a final status. It makes items with
`post_item` (authors pseudonymised at once) and reads pages newest first with `newest_first`
(the window, the resume point, pinned posts, max_posts_per_target). Its requests take
`errback=self._failed`, which turns a request that got no usable answer into a status for its
target(s); the spider fills in the few hooks where platforms differ (see `failure_outcome`).

An answer that arrived but cannot be read (cut off mid-body, not JSON or XML at all) is a fault
of the transport, not a change of the platform: `retry_unreadable` sends the request again
through the same back-off and cap as a 5xx, and past the cap the target ends in `error`. Only
a well-formed answer of an unknown shape is a layout change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config import ProjectConfig, load_config, with_window
from crawler.items import PostItem, TargetReport
from crawler.middlewares import Backoff, oversized, size_limit
from crawler.pseudonym import Pseudonymiser
from crawler.rules_base import SourceRules, as_utc
from crawler.targets import ERROR, OK, RATE_LIMITED, TOKEN_REJECTED, TargetBook
from storage.engine import open_database
from storage.runs import Resume, load_resume_points
from storage.validation import check_post, latest_allowed

log = logging.getLogger(__name__)

R = TypeVar("R", bound=SourceRules)


class Dated(Protocol):
    """A platform's parsed post, as far as paging is concerned."""

    @property
    def published_at(self) -> datetime: ...


class Place(Protocol):
    """A platform's paging cursor, as far as paging is concerned: which target of which source."""

    @property
    def source(self) -> str: ...

    @property
    def target(self) -> str: ...


P = TypeVar("P", bound=Dated)
C = TypeVar("C", bound=Place)
Outcome = tuple[str, str]  # (target status, reason)


def parse_when(value: str | datetime | None) -> datetime | None:
    """A `-a since=…` spider argument (ISO date or datetime, UTC) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


@dataclass(frozen=True)
class RequestFailure:
    """A request that got no usable answer: the error, the HTTP status if any, and why in words."""

    request: scrapy.Request
    error: BaseException
    status: int | None  # the status of an HTTP error answer; None when no answer came
    why: str  # what the retry middleware gave up on, else the status or the exception

    @classmethod
    def of(cls, failure: Failure) -> RequestFailure:
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]
        error = failure.value
        assert error is not None  # an errback's Failure always carries the exception
        gave_up: str | None = request.meta.get("gave_up")
        if isinstance(error, HttpError):
            status = error.response.status
            return cls(request, error, status, gave_up or f"HTTP {status}")
        return cls(request, error, None, gave_up or f"{type(error).__name__}: {error}")

    @property
    def refused(self) -> bool:
        """Dropped before it was sent (robots.txt, a stopped token): a decision, not a fault."""
        return isinstance(self.error, IgnoreRequest) and self.status is None and not self.oversized

    @property
    def oversized(self) -> bool:
        """The answer was over the size limit (DOWNLOAD_MAXSIZE) and was dropped."""
        return oversized(self.error)


@dataclass(frozen=True)
class Unread:
    """An API answer the spider could not use: its target is closed, unless `retry` asks again."""

    retry: scrapy.Request | None = None


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
        self._stored_resume: dict[str, dict[str, Resume]] | None = None
        self._skipped: dict[tuple[str, str], list[str]] = {}
        # Sources whose token or keys the platform rejected as invalid (not a quota or a ban):
        # their failed targets carry the signal, and the service switches the source off.
        self.credentials_rejected: set[str] = set()

    def target_reports(self) -> list[TargetReport]:
        """Every target's outcome, read by the storage pipeline when the crawl ends."""
        return [
            dataclasses.replace(r, signal=TOKEN_REJECTED)
            if r.source in self.credentials_rejected and r.status != OK
            else r
            for r in self.book.reports()
        ]

    def rules_for(self, source: str) -> R:
        return next(r for r in self.rules if r.name == source)

    def post_item(
        self,
        source: str,
        target: str,
        order: int | None,
        *,
        post_id: str,
        published_at: datetime,
        text: str,
        author: str | int | None,
        **fields: Any,
    ) -> PostItem:
        """A collected post of `target` as an item, its author pseudonymised at once.

        `order` ranks the target's posts (a post id or a timestamp): the highest becomes the
        next crawl's resume point. None (a page without a date) leaves the post out of the
        target's book: it is stored but cannot place a resume point.
        """
        item = PostItem(
            platform=self.name,
            source=source,
            target=target,
            post_id=post_id,
            published_at=published_at,
            text=text,
            author=self.pseudonymise(self.name, author),
            **fields,
        )
        # A post the writer will refuse (a date in 5138, an id too long to store) must not
        # become the resume point: later runs would skip everything before it.
        if order is not None and check_post(item, latest_allowed()) is None:
            self.book.saw(source, target, order, post_id, published_at)
        return item

    def newest_first(
        self,
        cur: C,
        posts: Sequence[P],
        item: Callable[[C, P], PostItem],
        *,
        known: Callable[[P], bool],
        pinned: Callable[[P], bool] | None = None,
    ) -> tuple[list[PostItem], bool]:
        """The items of one page of a target read newest first, and whether its paging ends here.

        Every post of the page counts as shown (TargetBook.observe), stored or not. A post the
        last complete crawl reached (`known`), or one older than the window, ends the paging:
        everything below it is older still. A pinned post sits on top whatever its age, so it is
        skipped instead; so is a post after the window. Reaching the source's
        `max_posts_per_target` ends the paging too.
        """
        self.book.observe(cur.source, cur.target, len(posts))
        rules = self.rules_for(cur.source)
        items: list[PostItem] = []
        for post in posts:
            at = post.published_at
            if known(post) or (rules.since is not None and at < rules.since):
                if pinned is not None and pinned(post):
                    continue
                return items, True
            if rules.until is not None and at >= rules.until:
                continue
            items.append(item(cur, post))
            limit = rules.max_posts_per_target
            if limit is not None and self.book.collected(cur.source, cur.target) >= limit:
                return items, True
        return items, False

    def finish(self, source: str, target: str, status: str, reason: str | None = None) -> None:
        """Give a target its final status (the first one given is kept).

        Posts skipped on the way (`skipped`) are noted in the reason, whatever the status.
        """
        note = self._skipped_note(source, target)
        if note:
            reason = f"{reason}; {note}" if reason else note
        if not self.book.finish(source, target, status, reason):
            return
        if status != OK:
            # INFO: the end-of-run summary lists every target with a problem.
            log.info("%s %s: %s (%s)", source, target, status, reason)
        elif note:  # the summary lists only failed targets: say it here
            log.warning("%s %s: %s", source, target, note)

    def skipped(self, source: str, target: str, reasons: Sequence[str]) -> None:
        """Note items of a page that are not posts the platform could have meant (a date beyond
        the calendar, a missing id): skipped one by one, the rest of the page is kept."""
        if not reasons:
            return
        self._skipped.setdefault((source, target), []).extend(reasons)
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value("vemeter/posts_skipped", len(reasons))

    def _skipped_note(self, source: str, target: str) -> str | None:
        reasons = self._skipped.get((source, target))
        if not reasons:
            return None
        shown = "; ".join(r[:120] for r in reasons[:3]) + ("; …" if len(reasons) > 3 else "")
        return f"{len(reasons)} malformed posts skipped ({shown})"

    # ---- failed requests: one errback, platform hooks -----------------------------------

    def _failed(self, failure: Failure) -> None:
        """Errback of every request: give its target(s) the status the failure calls for."""
        failed = RequestFailure.of(failure)
        outcome = self.failure_outcome(failed)
        if outcome is not None:
            self.close_failed(failed.request, *outcome)

    def failure_outcome(self, failed: RequestFailure) -> Outcome | None:
        """The status and reason a failure gives its target(s); None when nothing is to close."""
        # HttpError is an IgnoreRequest too: a stopped token or key outranks the answer's status.
        if isinstance(failed.error, IgnoreRequest) and (stop := self.stopped_outcome(failed)):
            return stop
        if failed.oversized:
            return ERROR, f"{self.failure_where(failed.request)}: {self.size_reason(failed)}"
        if failed.status is not None:
            status = RATE_LIMITED if failed.status == 429 else ERROR
            return status, f"{self.failure_where(failed.request)}: {failed.why}"
        if failed.refused:
            return self.refused_outcome(failed)
        return ERROR, self.unreachable_reason(failed)

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        """Hook: finish the target(s) `request` was for."""
        raise NotImplementedError(f"{type(self).__name__} must say which targets a request serves")

    def stopped_outcome(self, failed: RequestFailure) -> Outcome | None:
        """Hook: the outcome when the spider itself stopped the request's token or key."""
        return None

    def refused_outcome(self, failed: RequestFailure) -> Outcome | None:
        """Hook: the outcome of a request dropped before sending (by default, an error)."""
        return ERROR, self.unreachable_reason(failed)

    def failure_where(self, request: scrapy.Request) -> str:
        """Hook: what an HTTP error reason names (by default, the URL)."""
        return request.url

    def failure_endpoint(self, request: scrapy.Request) -> str:
        """Hook: what a network error reason says could not be reached (by default, the URL)."""
        return request.url

    def unreachable_reason(self, failed: RequestFailure) -> str:
        return f"cannot reach {self.failure_endpoint(failed.request)} ({failed.why})"

    def size_reason(self, failed: RequestFailure) -> str:
        settings = getattr(getattr(self, "crawler", None), "settings", None)
        return size_limit(failed.request, settings)

    def retry_unreadable(self, response: Response, why: str) -> tuple[scrapy.Request | None, str]:
        """`response`'s request again, after a back-off, because its body could not be read.

        Returns (None, reason) once the request has used up VEMETER_RETRY_TIMES (shared with
        5xx and network retries); the caller then ends the target(s) in `error` with that reason.
        The meta goes along whole (cursor, rate key), Scrapy's own keys aside.
        """
        crawler = getattr(self, "crawler", None)
        request = response.request
        assert request is not None
        retry, reason = Backoff(getattr(crawler, "settings", None)).again(request, why)
        stats = getattr(crawler, "stats", None)
        if stats is not None:
            stats.inc_value("vemeter/unreadable_answers")
            if retry is not None:
                stats.inc_value("vemeter/retries")
        return retry, reason

    async def retry_answer(
        self, response: Response, cursor: Any, delay: float, stat: str, keep: Iterable[str]
    ) -> scrapy.Request:
        """`response`'s request again after `delay` seconds with `cursor`, counted in stats `stat`.

        Only the meta keys in `keep` go along, so Scrapy's own (retry counts, latency) start afresh.
        """
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(stat)
        await asyncio.sleep(delay)
        request = response.request
        assert request is not None
        meta = {k: v for k, v in request.meta.items() if k in keep}
        return request.replace(meta={**meta, "cursor": cursor})

    # ---- resume points: read once per crawl, by the spider and the storage pipeline --------

    def stored_resume_points(self) -> dict[str, dict[str, Resume]]:
        """Per source, where each target's last complete crawl stopped (read once, even with `full`)."""
        if self._stored_resume is None:
            engine = open_database(self.project_config.database_url)
            try:
                self._stored_resume = {
                    r.name: load_resume_points(engine, self.name, r.name) for r in self.rules
                }
            finally:
                engine.dispose()
        return self._stored_resume

    def resume_points(self) -> dict[str, dict[str, Resume]]:
        """Per source, where each target's crawl starts from ({} with `full`)."""
        if self.full:
            return {r.name: {} for r in self.rules}
        return self.stored_resume_points()

    def previous_crawl(self, source: str, target: str) -> Resume | None:
        """The target's last complete crawl, `full` or not: the storage pipeline compares with it."""
        return self.stored_resume_points().get(source, {}).get(target)
