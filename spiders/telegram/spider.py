"""The Telegram spider: page public channels' web previews (t.me/s/<channel>) back in time, politely."""

# Each channel is paged newest first with `?before=<id>` until its history ends, the window's
# start or the newest message of the last complete crawl. A channel without a public preview is
# recorded as inaccessible, a page of an unknown shape as layout-changed: never as "0 posts".

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawler.items import PostItem
from crawler.spiderbase import Outcome, RequestFailure, SourceSpider
from crawler.targets import ERROR, INACCESSIBLE, LAYOUT_CHANGED, OK
from spiders.telegram.parse import (
    NO_PREVIEW,
    LayoutError,
    NoPublicHistory,
    TelegramPost,
    Unreadable,
    parse_channel_page,
)
from spiders.telegram.rules import TelegramRules
from storage.runs import Resume

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cursor:
    """Where one channel's paging stands."""

    source: str
    target: str
    before: int | None = None  # None: the newest page
    resume_after: int | None = None  # newest message id of the last complete crawl


def resume_id(point: Resume | None) -> int | None:
    """The message id of a stored resume point (`channel/123`), or None."""
    if point is None or not point.newest_post_id:
        return None
    tail = point.newest_post_id.rpartition("/")[2]
    return int(tail) if tail.isdigit() else None


class TelegramSpider(SourceSpider[TelegramRules]):
    """Public Telegram channels through the web preview; no account, no API key."""

    name = "telegram"
    rules_type = TelegramRules
    # Answers over this size are dropped, never retried, and recorded as the target's problem:
    # a preview page of 20 messages is a few hundred KiB.
    custom_settings = {  # noqa: RUF012 (Scrapy's own attribute, read once per crawl)
        "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    }

    def _request(self, cur: Cursor) -> scrapy.Request:
        rules = self.rules_for(cur.source)
        url = f"{rules.base_url}/s/{cur.target}"
        if cur.before is not None:
            url += f"?before={cur.before}"
        host = urlsplit(rules.base_url).netloc
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self._failed,
            dont_filter=True,
            meta={
                "cursor": cur,
                "rate_key": f"telegram:{host}" if rules.requests_per_second > 0 else None,
                "rate_per_second": rules.requests_per_second,
            },
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        resume = self.resume_points()
        for rules in self.rules:
            for target in rules.targets:
                self.book.add(rules.name, target)
                point = resume_id(resume[rules.name].get(target))
                yield self._request(Cursor(rules.name, target, resume_after=point))

    def _item(self, cur: Cursor, post: TelegramPost) -> PostItem:
        return self.post_item(
            cur.source,
            cur.target,
            post.message_id,
            post_id=post.post_id,
            published_at=post.published_at,
            text=post.text,
            author=post.author_signature,
            url=post.url,
            extra_text=post.extra_text,
            is_repost=post.forwarded_from is not None,
            views=post.views,
            attachments=post.media,
            edited=post.edited,
            forwarded_from=post.forward_origin,
        )

    async def parse_page(self, response: Response) -> AsyncIterator[PostItem | scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        if not self.book.is_open(cur.source, cur.target):
            return
        where = f"{cur.target} page before={cur.before or 'newest'}"
        if "/s/" not in urlsplit(response.url).path:
            # t.me sends channels without a public preview to their landing page.
            self.finish(cur.source, cur.target, INACCESSIBLE, NO_PREVIEW)
            return
        try:
            page = parse_channel_page(response.body)
        except NoPublicHistory:
            self.finish(cur.source, cur.target, INACCESSIBLE, NO_PREVIEW)
            return
        except Unreadable as exc:  # cut off on the way: asked again, like a 5xx
            again, why = self.retry_unreadable(response, str(exc))
            if again is None:
                self.finish(cur.source, cur.target, ERROR, f"{where}: {why}")
            else:
                yield again
            return
        except LayoutError as exc:
            self.finish(cur.source, cur.target, LAYOUT_CHANGED, f"{where}: {exc}")
            return
        self.skipped(cur.source, cur.target, page.skipped)
        # Every post shown counts: a channel that shows none after showing some is a likely break.
        stored = cur.resume_after  # the newest message of the last complete crawl
        items, stop = self.newest_first(
            cur,
            page.posts,
            self._item,
            known=lambda p: stored is not None and p.message_id <= stored,
        )
        for item in items:
            yield item
        if stop or page.before is None:
            self.finish(cur.source, cur.target, OK)
            return
        if cur.before is not None and page.before >= cur.before:
            # A cursor that does not move back would page forever.
            self.finish(
                cur.source,
                cur.target,
                LAYOUT_CHANGED,
                f"{where}: paging cursor did not move back (data-before={page.before})",
            )
            return
        yield self._request(replace(cur, before=page.before))

    # ---- hooks of the shared errback (SourceSpider._failed) --------------------------------

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        cur: Cursor = request.meta["cursor"]
        self.finish(cur.source, cur.target, status, reason)

    def refused_outcome(self, failed: RequestFailure) -> Outcome | None:
        # robots.txt (or another downloader decision) forbids the page: a policy, not a fault.
        return INACCESSIBLE, f"{failed.request.url}: {failed.error}"

    def failure_endpoint(self, request: scrapy.Request) -> str:
        cur: Cursor = request.meta["cursor"]
        return self.rules_for(cur.source).base_url
