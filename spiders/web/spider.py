"""The web spider: read feeds and sitemaps, fetch the article pages they list, politely, once each."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.items import PostItem
from crawler.post_keys import stored_id
from crawler.spiderbase import Outcome, RequestFailure, SourceSpider
from crawler.targets import ERROR, INACCESSIBLE, LAYOUT_CHANGED, OK
from spiders.web.gate import RobotsGate
from spiders.web.markup import canonical_url
from spiders.web.parse import (
    Feed,
    LayoutError,
    Sitemap,
    Unreadable,
    parse_article,
    parse_document,
)
from spiders.web.rules import WebRules

log = logging.getLogger(__name__)

MAX_URL = 512  # the database's column size
MAX_SITEMAP_DEPTH = 3  # the protocol allows one level; a few more tolerate odd sites, not loops
Item = PostItem | scrapy.Request
_ROLE_WORDS = {"target": "", "sitemap": "child sitemap ", "article": "article "}  # in reasons


@dataclass(frozen=True, slots=True)
class Candidate:
    """A page a feed or sitemap lists, with what the listing says about it."""

    post_id: str
    url: str | None
    date: datetime | None
    is_published: bool  # date is a publication date (feeds), not a modification date (lastmod)
    title: str = ""
    author: str | None = None
    text: str = ""


@dataclass
class _Run:
    """One target's progress in this crawl."""

    source: str
    target: str
    rules: WebRules
    allowed: tuple[str, ...]
    cutoff: datetime | None  # newest date of the last complete crawl
    pending: int = 0
    scheduled: int = 0
    parsed: int = 0
    undated: int = 0
    offsite: int = 0
    sitemaps: set[str] = field(default_factory=set)
    malformed: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)
    disallowed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    oversized: list[str] = field(default_factory=list)
    failure: tuple[str, str] | None = None

    def fail(self, status: str, reason: str) -> None:
        if self.failure is None:  # the first problem is the one to act on
            self.failure = (status, reason)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class WebSpider(SourceSpider[WebRules]):
    """Public websites through their RSS/Atom feeds and sitemaps; articles read by CSS selectors.

    Every request carries a per-host rate limit; robots.txt is obeyed by Scrapy's middleware (a
    disallowed page is noted and skipped). A target ends when its last outstanding request (child
    sitemap or article) is answered: `ok` with notes on what was skipped, or its first problem.
    """

    name = "web"
    rules_type = WebRules
    # Answers over this size are dropped, never retried, and recorded as the target's problem:
    # the sitemap protocol allows 50 MB uncompressed.
    custom_settings = {  # noqa: RUF012 (Scrapy's own attribute, read once per crawl)
        "DOWNLOAD_MAXSIZE": 64 * 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 16 * 1024 * 1024,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runs: dict[tuple[str, str], _Run] = {}
        # Pages already taken by a target of this crawl: a page a feed and a sitemap both list
        # is fetched and stored once.
        self.claimed: set[str] = set()
        # Scrapy 2.19 leaves all but the first request to a new host unchecked by robots.txt.
        self.gate = RobotsGate(self._send_held)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        resume = self.resume_points()
        for rules in self.rules:
            for target in rules.targets:
                self.book.add(rules.name, target)
                point = resume[rules.name].get(target)
                run = _Run(
                    source=rules.name,
                    target=target,
                    rules=rules,
                    allowed=tuple(rules.allow_domains or [_host(target)]),
                    cutoff=point.newest_published_at if point else None,
                )
                self.runs[(rules.name, target)] = run
                for request in self.gate.admit(self._request(run, target, "target")):
                    yield request

    def _request(self, run: _Run, url: str, role: str, **meta: Any) -> scrapy.Request:
        run.pending += 1
        rate = run.rules.requests_per_second
        return scrapy.Request(
            url,
            callback=self.parse_article if role == "article" else self.parse_listing,
            errback=self._failed,
            # Every request must reach a callback or errback, or its target never ends.
            dont_filter=True,
            meta={
                "run": run,
                "role": role,
                "rate_key": f"web:{urlsplit(url).netloc.lower()}" if rate > 0 else None,
                "rate_per_second": rate,
                **meta,
            },
        )

    def _send_held(self, request: scrapy.Request) -> None:
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(request)

    def _allowed(self, run: _Run, url: str) -> bool:
        host = _host(url)
        return any(host == d or host.endswith("." + d) for d in run.allowed)

    # ---- listings ------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Item]:
        run: _Run = response.meta["run"]
        self.gate.release(response.request)
        try:
            yield from self._listing(run, response)
        except Exception as exc:  # a bug must not leave the target looking complete
            run.fail(ERROR, f"{type(exc).__name__} while reading {response.url}: {exc}")
            raise
        finally:
            self._done(run)

    def _listing(self, run: _Run, response: Response) -> Iterator[Item]:
        role = response.meta["role"]
        kind = run.rules.kind if role == "target" else "sitemap"
        where = "" if role == "target" else "child sitemap "
        try:
            doc = parse_document(response.body, response.url, kind)
        except Unreadable as exc:  # cut off on the way: asked again, like a 5xx
            again, why = self.retry_unreadable(response, str(exc))
            if again is None:
                run.fail(ERROR, f"{where}{response.url}: {why}")
            else:
                run.pending += 1  # the same request again: the target waits for it
                yield again
            return
        except LayoutError as exc:
            run.fail(LAYOUT_CHANGED, f"{where}{response.url}: {exc}")
            return
        if isinstance(doc, Feed):
            run.malformed.extend(doc.malformed)
            self.book.observe(run.source, run.target, len(doc.entries))
            yield from self._candidates(
                run,
                [
                    Candidate(e.post_id, e.url, e.published_at, True, e.title, e.author, e.text)
                    for e in doc.entries
                ],
            )
        else:
            yield from self._sitemap(run, doc, response)

    def _sitemap(self, run: _Run, doc: Sitemap, response: Response) -> Iterator[Item]:
        rules = run.rules
        run.malformed.extend(f"{response.url} {m}" for m in doc.malformed)
        if not doc.is_index:
            if not rules.fetch_articles:
                run.fail(
                    ERROR, "a sitemap lists pages only: set fetch_articles: true and selectors.body"
                )
                return
            self.book.observe(run.source, run.target, len(doc.links))
            pages = [
                (p.url, p.published or p.lastmod, bool(p.published), p.title) for p in doc.links
            ]
            yield from self._candidates(run, [Candidate(u, u, d, pub, t) for u, d, pub, t in pages])
            return
        depth = int(response.meta.get("sitemap_depth", 0)) + 1
        for link in doc.links:
            if not self._allowed(run, link.url):
                run.offsite += 1
            elif link.url in run.sitemaps:
                continue
            elif depth > MAX_SITEMAP_DEPTH:
                run.malformed.append(f"{link.url}: sitemaps nested deeper than {MAX_SITEMAP_DEPTH}")
            elif link.lastmod and (
                (run.cutoff and link.lastmod <= run.cutoff)
                or (rules.since and link.lastmod < rules.since)
            ):
                # Unchanged since the last complete crawl (or older than the window). Its pages
                # still count as shown, so an up-to-date site does not look silent.
                self.book.observe(run.source, run.target, 1)
            else:
                run.sitemaps.add(link.url)
                yield from self.gate.admit(
                    self._request(run, link.url, "sitemap", sitemap_depth=depth)
                )

    def _candidates(self, run: _Run, candidates: list[Candidate]) -> Iterator[Item]:
        rules = run.rules
        # Newest first, so that max_posts_per_target keeps the newest.
        epoch = datetime.min.replace(tzinfo=UTC)
        candidates.sort(key=lambda c: c.date or epoch, reverse=True)
        for c in candidates:
            if c.date is not None:
                if rules.since and c.date < rules.since:
                    continue
                if run.cutoff and c.date <= run.cutoff:
                    continue
                if c.is_published and rules.until and c.date >= rules.until:
                    continue
            fetch = rules.fetch_articles and c.url is not None
            if fetch and c.url and not self._allowed(run, c.url):
                run.offsite += 1
                continue
            key = c.url or c.post_id
            if key in self.claimed:
                # Another target of this crawl took it; it is stored once, and this target's
                # resume point moves past it too.
                if c.date is not None:
                    self._saw(run, c, c.date)
                continue
            if rules.max_posts_per_target and run.scheduled >= rules.max_posts_per_target:
                break
            self.claimed.add(key)
            run.scheduled += 1
            if fetch and c.url:
                yield from self.gate.admit(self._request(run, c.url, "article", candidate=c))
            elif (item := self._item(run, c, c.title, c.text, c.date, c.author, c.url)) is not None:
                yield item

    # ---- articles ------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Item]:
        run: _Run = response.meta["run"]
        self.gate.release(response.request)
        try:
            yield from self._article(run, response)
        except Exception as exc:
            run.fail(ERROR, f"{type(exc).__name__} while reading {response.url}: {exc}")
            raise
        finally:
            self._done(run)

    def _article(self, run: _Run, response: Response) -> Iterator[Item]:
        c: Candidate = response.meta["candidate"]
        if not self._allowed(run, response.url):  # redirected off the allowed domains
            run.offsite += 1
            return
        sel = run.rules.selectors
        assert sel.body is not None  # the rules require it when articles are fetched
        if not isinstance(response, TextResponse):
            run.layout.append(f"{response.url} (not an HTML page)")
            return
        try:
            art = parse_article(
                response.text, body=sel.body, title=sel.title, date=sel.date, author=sel.author
            )
        except LayoutError:
            run.layout.append(response.url)
            return
        run.parsed += 1
        url = canonical_url(response.url) or c.url
        item = self._item(
            run,
            c,
            art.title or c.title,
            art.text,
            art.published_at or c.date,
            art.author or c.author,
            url,
        )
        if item is not None:
            yield item

    def _saw(self, run: _Run, c: Candidate, when: datetime) -> None:
        """Note the post for the target's resume point, ordered by its timestamp."""
        self.book.saw(run.source, run.target, int(when.timestamp()), stored_id(c.post_id), when)

    def _item(
        self,
        run: _Run,
        c: Candidate,
        title: str,
        text: str,
        published: datetime | None,
        author: str | None,
        url: str | None,
    ) -> PostItem | None:
        rules = run.rules
        if published is None:
            # Kept and noted; the crawl time stands in, and cannot place a resume point.
            run.undated += 1
        elif (rules.since and published < rules.since) or (
            rules.until and published >= rules.until
        ):
            return None
        return self.post_item(
            run.source,
            run.target,
            None if published is None else int(published.timestamp()),
            post_id=stored_id(c.post_id),
            published_at=datetime.now(UTC) if published is None else published,
            text=text,
            author=author,
            url=url if url is None or len(url) <= MAX_URL else None,
            extra_text=title,
        )

    # ---- failures and the end of a target ------------------------------------------------

    def _failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.gate.release(request)
        try:
            super()._failed(failure)
        finally:
            self._done(request.meta["run"])

    def failure_outcome(self, failed: RequestFailure) -> Outcome | None:
        """As for every spider, but a skipped page is a note on its target, not the target's end."""
        run: _Run = failed.request.meta["run"]
        role, url, error = failed.request.meta["role"], failed.request.url, failed.error
        if isinstance(error, IgnoreRequest) and "robots.txt" in str(error):
            if role == "target":
                return INACCESSIBLE, f"robots.txt of {_host(url)} disallows {url}"
            run.disallowed.append(url)
            return None
        if role == "article" and failed.status in (404, 410):
            run.gone.append(url)
            return None
        if role == "article" and failed.oversized:
            run.oversized.append(url)
            return None
        if role == "target" and failed.status in (401, 403, 404, 410):
            return INACCESSIBLE, f"{url}: {failed.why} (moved, removed or not public?)"
        return super().failure_outcome(failed)

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        request.meta["run"].fail(status, reason)  # the target ends with its last request

    def failure_where(self, request: scrapy.Request) -> str:
        return _ROLE_WORDS[request.meta["role"]] + request.url

    def unreachable_reason(self, failed: RequestFailure) -> str:
        return f"cannot fetch {self.failure_where(failed.request)} ({failed.why})"

    def _done(self, run: _Run) -> None:
        run.pending -= 1
        if run.pending > 0:
            return
        notes = self._notes(run)
        if run.failure is not None:
            status, reason = run.failure
            self.finish(run.source, run.target, status, "; ".join([reason, *notes]))
        elif run.layout and run.parsed == 0:
            self.finish(run.source, run.target, LAYOUT_CHANGED, "; ".join(notes))
        else:
            self.finish(run.source, run.target, OK, "; ".join(notes) or None)
            if notes:  # the run summary lists only failed targets; these need a look too
                log.warning("%s %s: %s", run.source, run.target, "; ".join(notes))

    def _notes(self, run: _Run) -> list[str]:
        notes = []
        if run.malformed:
            shown = "; ".join(run.malformed[:3]) + ("; …" if len(run.malformed) > 3 else "")
            notes.append(f"{len(run.malformed)} malformed entries skipped ({shown})")
        if run.layout:
            notes.append(
                f"{len(run.layout)} of {len(run.layout) + run.parsed} article pages layout-changed: "
                f"body selector {run.rules.selectors.body!r} matched nothing (e.g. {run.layout[0]}); "
                "fix selectors.body, then crawl with --full to collect them"
            )
        if run.disallowed:
            notes.append(f"{len(run.disallowed)} pages disallowed by robots.txt, not fetched")
        if run.gone:
            notes.append(f"{len(run.gone)} listed pages answered 404/410 (e.g. {run.gone[0]})")
        if run.oversized:
            notes.append(
                f"{len(run.oversized)} article pages over the size limit (DOWNLOAD_MAXSIZE), "
                f"not read (e.g. {run.oversized[0]})"
            )
        if run.offsite:
            notes.append(
                f"{run.offsite} links outside allow_domains ({', '.join(run.allowed)}) not followed"
            )
        if run.undated:
            notes.append(f"{run.undated} posts without a date, stored with the crawl time")
        return notes
