"""The VK spider: resolve and gate communities, page their walls and keyword searches politely.

Requests carry the token in an Authorization header (never in a URL or a log), share one rate
limit per token, and turn every VK error into an action (platforms.md §1.7): retry, stop a
method or the source, park the token, or record the target as inaccessible and go on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawler.items import PostItem
from crawler.secrets import read_secret
from crawler.spiderbase import Outcome, RequestFailure, SourceSpider, Unread
from crawler.targets import ERROR, INACCESSIBLE, LAYOUT_CHANGED, OK, RATE_LIMITED
from spiders.vk.parse import (
    Action,
    Community,
    LayoutError,
    Unreadable,
    VKApiError,
    VKPost,
    parse_envelope,
    parse_groups,
    parse_resolved,
    parse_search,
    parse_wall,
)
from spiders.vk.rules import VKRules
from storage.runs import Resume

log = logging.getLogger(__name__)
T = TypeVar("T")

SEARCH_DEFAULT_DAYS = 7
CAPTCHA_PARK = timedelta(minutes=30)
_NUMERIC = ("club", "public", "event")
_OWN_META = ("cursor", "rate_key", "rate_per_second", "resume")


def group_id_of(target: str) -> int | None:
    """The community id a target names directly (-123, club123, public123), else None."""
    if target.startswith("-") and target[1:].isdigit():
        return int(target[1:])
    for prefix in _NUMERIC:
        if target.startswith(prefix) and target[len(prefix) :].isdigit():
            return int(target[len(prefix) :])
    return None


@dataclass(frozen=True)
class Cursor:
    """Where one target's paging stands."""

    source: str
    target: str
    method: str
    group_id: int = 0
    offset: int = 0
    prev_count: int = 0
    resume_after: int | None = None  # newest post id of the last complete crawl
    query: str = ""
    attempts: int = 0


@dataclass
class _Token:
    key: str
    value: str
    env: str
    blocked: dict[str, str]
    halted: str | None = None


class VKSpider(SourceSpider[VKRules]):
    """Public VK community walls and keyword searches via the official API."""

    name = "vk"
    rules_type = VKRules
    # Answers over this size are dropped, never retried, and recorded as the target's problem:
    # a wall page of 100 posts is well under 1 MiB; VK caps execute at 5 MB.
    custom_settings = {  # noqa: RUF012 (Scrapy's own attribute, read once per crawl)
        "DOWNLOAD_MAXSIZE": 16 * 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 4 * 1024 * 1024,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: dict[str, _Token] = {}
        self.token_of: dict[str, _Token] = {}
        for rules in self.rules:
            value = read_secret(
                rules.token_env,
                f"the VK access token of source {rules.name!r}",
                f"a service token from your VK app's settings: export {rules.token_env}=…",
            )
            key = "vk:" + hashlib.sha256(value.encode()).hexdigest()[:12]
            self.token_of[rules.name] = self.tokens.setdefault(
                key, _Token(key, value, rules.token_env, {})
            )

    # ---- plumbing -------------------------------------------------------------------------

    def _request(self, cur: Cursor, params: dict[str, Any], callback: Any) -> scrapy.Request:
        rules = self.rules_for(cur.source)
        token = self.token_of[cur.source]
        query = urlencode({**params, "v": rules.api_version})
        return scrapy.Request(
            f"{rules.api_base}/{cur.method}?{query}",
            headers={"Authorization": f"Bearer {token.value}"},
            callback=callback,
            errback=self._failed,
            dont_filter=True,
            meta={
                "cursor": cur,
                "rate_key": token.key if rules.requests_per_second > 0 else None,
                "rate_per_second": rules.requests_per_second,
            },
        )

    def blocked_reason(self, request: scrapy.Request) -> str | None:
        """Asked by the rate-limit middleware before sending: is this request's token or method stopped?"""
        cur: Cursor | None = request.meta.get("cursor")
        if cur is None:
            return None
        token = self.token_of[cur.source]
        return token.halted or token.blocked.get(cur.method)

    def _close_target(self, cur: Cursor, status: str, reason: str | None = None) -> None:
        for target in cur.target.split(",") if cur.method == "groups.getById" else [cur.target]:
            self.finish(cur.source, target, status, reason)

    async def _on_error(self, err: VKApiError, response: Response) -> scrapy.Request | None:
        """Act on a VK error; returns a request to retry, or None when the target is closed."""
        cur: Cursor = response.meta["cursor"]
        token = self.token_of[cur.source]
        what = f"VK error {err.code} on {cur.method}: {err.message}"
        if err.action in (Action.RETRY_SOON, Action.RETRY_BACKOFF):
            limit = 5 if err.action is Action.RETRY_SOON else 3
            if cur.attempts >= limit:
                status = RATE_LIMITED if err.action is Action.RETRY_SOON else ERROR
                self._close_target(cur, status, f"{what} (still after {limit} retries)")
                return None
            if err.action is Action.RETRY_SOON:
                limiter = getattr(self.crawler, "rate_limiter", None)
                if limiter is not None:
                    limiter.slow_down(token.key)
                delay = 1.0
            else:
                delay = 2.0**cur.attempts
            again = replace(cur, attempts=cur.attempts + 1)
            stat = f"vemeter/vk_error_{err.code}"
            return await self.retry_answer(response, again, delay, stat, _OWN_META)
        if err.action is Action.STOP_METHOD:
            token.blocked[cur.method] = (
                f"{what} — {cur.method} stopped for the token in {token.env}; run again after the quota resets"
            )
            self._close_target(cur, RATE_LIMITED, token.blocked[cur.method])
        elif err.action is Action.STOP_SOURCE:
            token.halted = f"{what} — the token in {token.env} was rejected; get a valid service token and run again"
            log.error("source %s stopped: %s", cur.source, token.halted)
            self.credentials_rejected.update(s for s, t in self.token_of.items() if t is token)
            self._close_target(cur, ERROR, token.halted)
        elif err.action is Action.PARK_TOKEN:
            until = datetime.now(UTC) + CAPTCHA_PARK
            token.halted = f"{what} — captcha requested; vemeter never solves captchas, token in {token.env} parked until {until:%H:%M} UTC"
            self._close_target(cur, RATE_LIMITED, token.halted)
        elif err.action is Action.INACCESSIBLE:
            self._close_target(cur, INACCESSIBLE, what)
        else:
            self._close_target(cur, ERROR, what)
        return None

    # ---- hooks of the shared errback (SourceSpider._failed) --------------------------------

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        self._close_target(request.meta["cursor"], status, reason)

    def stopped_outcome(self, failed: RequestFailure) -> Outcome | None:
        if reason := self.blocked_reason(failed.request):
            return (RATE_LIMITED if "quota" in reason or "captcha" in reason else ERROR), reason
        return None

    def failure_where(self, request: scrapy.Request) -> str:
        cur: Cursor = request.meta["cursor"]
        return cur.method

    def failure_endpoint(self, request: scrapy.Request) -> str:
        cur: Cursor = request.meta["cursor"]
        return self.rules_for(cur.source).api_base

    async def _read(self, response: Response, parse: Callable[[Any], T]) -> T | Unread:
        """What `parse` reads from a VK answer; on a VK error, an unreadable body or an unknown
        shape, Unread (with a request to send again when the error or the body calls for one)."""
        cur: Cursor = response.meta["cursor"]
        where = f"wall.get at offset {cur.offset}" if cur.method == "wall.get" else cur.method
        try:
            return parse(parse_envelope(response.body))
        except VKApiError as err:
            return Unread(await self._on_error(err, response))
        except Unreadable as exc:  # cut off or garbled on the way: asked again, like a 5xx
            again, why = self.retry_unreadable(response, str(exc))
            if again is None:
                self._close_target(cur, ERROR, f"{where}: {why}")
            return Unread(again)
        except LayoutError as exc:
            self._close_target(cur, LAYOUT_CHANGED, f"{where}: {exc}")
            return Unread()

    def _item(self, cur: Cursor, post: VKPost) -> PostItem:
        return self.post_item(
            cur.source,
            cur.target,
            post.id if cur.method == "wall.get" else int(post.published_at.timestamp()),
            post_id=post.post_id,
            published_at=post.published_at,
            text=post.text,
            author=post.author_id,
            url=post.url,
            extra_text=post.repost_text,
            is_repost=post.is_repost,
            is_pinned=post.is_pinned,
            edited=post.edited,
            is_promo=post.is_promo,
            views=post.views,
            likes=post.likes,
            reposts=post.reposts,
            comments=post.comments,
            attachments=post.attachments,
        )

    # ---- crawl ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        resume = self.resume_points()
        for rules in self.rules:
            for request in self._start_source(rules, resume[rules.name]):
                yield request

    def _start_source(self, rules: VKRules, resume: dict[str, Resume]) -> Iterator[scrapy.Request]:
        for target in rules.targets:
            self.book.add(rules.name, target)
        for start in range(0, len(rules.targets), 100):
            chunk = rules.targets[start : start + 100]
            names = [str(group_id_of(t) or t) for t in chunk]
            cur = Cursor(rules.name, ",".join(chunk), "groups.getById")
            req = self._request(
                cur,
                {"group_ids": ",".join(names), "fields": "is_closed,deactivated,screen_name,type"},
                self.parse_groups,
            )
            req.meta["resume"] = resume
            yield req
        for query in rules.searches:
            target = f"search:{query}"
            self.book.add(rules.name, target)
            since = rules.since
            point = resume.get(target)
            if (
                point
                and point.newest_published_at
                and (since is None or point.newest_published_at > since)
            ):
                since = point.newest_published_at
            if since is None:
                since = datetime.now(UTC) - timedelta(days=SEARCH_DEFAULT_DAYS)
            cur = Cursor(rules.name, target, "newsfeed.search", query=query)
            params = {
                "q": query,
                "count": rules.search_page_size,
                "start_time": int(since.timestamp()),
            }
            if rules.until:
                params["end_time"] = int(rules.until.timestamp())
            yield self._request(cur, params, self.parse_search)

    def _wall_request(self, cur: Cursor) -> scrapy.Request:
        rules = self.rules_for(cur.source)
        params = {
            "owner_id": -cur.group_id,
            "offset": cur.offset,
            "count": rules.page_size,
            "filter": rules.wall_filter,
        }
        return self._request(cur, params, self.parse_wall)

    async def parse_groups(self, response: Response) -> AsyncIterator[scrapy.Request]:
        batch: Cursor = response.meta["cursor"]
        resume: dict[str, Resume] = response.meta.get("resume", {})
        targets = batch.target.split(",")
        communities = await self._read(response, _communities)
        if isinstance(communities, Unread):
            if communities.retry is not None:
                yield communities.retry
            return
        by_id = {c.id: c for c in communities}
        by_name = {c.screen_name.lower(): c for c in communities}
        for target in targets:
            gid = group_id_of(target)
            community = by_id.get(gid) if gid is not None else by_name.get(target.lower())
            if community is None:
                cur = Cursor(batch.source, target, "utils.resolveScreenName")
                if gid is not None:
                    self._close_target(
                        cur, INACCESSIBLE, f"community {target} not found (deleted, or a wrong id)"
                    )
                else:
                    req = self._request(cur, {"screen_name": target}, self.parse_resolved)
                    req.meta["resume"] = resume
                    yield req
                continue
            cur = Cursor(batch.source, target, "wall.get", group_id=community.id)
            if reason := community.inaccessible_reason:
                self._close_target(cur, INACCESSIBLE, reason)
                continue
            yield self._wall_request(replace(cur, resume_after=_resume_id(resume.get(target))))

    async def parse_resolved(self, response: Response) -> AsyncIterator[scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        resolved = await self._read(response, parse_resolved)
        if isinstance(resolved, Unread):
            if resolved.retry is not None:
                yield resolved.retry
            return
        if resolved is None:
            self._close_target(cur, INACCESSIBLE, f"screen name {cur.target!r} not found on VK")
        elif resolved[0] not in ("group", "page", "event"):
            self._close_target(
                cur,
                INACCESSIBLE,
                f"{cur.target!r} is a {resolved[0]}, not a community (vemeter collects public community walls)",
            )
        else:
            resume = response.meta.get("resume", {})
            wall = replace(
                cur,
                method="wall.get",
                group_id=resolved[1],
                attempts=0,
                resume_after=_resume_id(resume.get(cur.target)),
            )
            yield self._wall_request(wall)

    async def parse_wall(self, response: Response) -> AsyncIterator[PostItem | scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        if not self.book.is_open(cur.source, cur.target):
            return
        page = await self._read(response, parse_wall)
        if isinstance(page, Unread):
            if page.retry is not None:
                yield page.retry
            return
        if cur.offset and cur.prev_count and page.count < cur.prev_count:
            # Posts above were deleted while paging: older posts moved to lower offsets.
            back = cur.prev_count - page.count
            yield self._wall_request(
                replace(cur, offset=max(0, cur.offset - back), prev_count=page.count, attempts=0)
            )
            return
        self.skipped(cur.source, cur.target, page.skipped)
        last = cur.resume_after
        items, stop = self.newest_first(
            cur,
            page.posts,
            self._item,
            # A pinned post is taken again even when the last crawl reached it.
            known=lambda post: not post.is_pinned and last is not None and post.id <= last,
            pinned=lambda post: post.is_pinned,
        )
        for item in items:
            yield item
        next_offset = cur.offset + page.shown
        if stop or not page.shown or next_offset >= page.count:
            self._close_target(cur, OK)
            return
        yield self._wall_request(
            replace(cur, offset=next_offset, prev_count=page.count, attempts=0)
        )

    async def parse_search(self, response: Response) -> AsyncIterator[PostItem | scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        if not self.book.is_open(cur.source, cur.target):
            return
        page = await self._read(response, parse_search)
        if isinstance(page, Unread):
            if page.retry is not None:
                yield page.retry
            return
        self.book.observe(cur.source, cur.target, len(page.posts))
        self.skipped(cur.source, cur.target, page.skipped)
        rules = self.rules_for(cur.source)
        for post in page.posts:
            if rules.until and post.published_at >= rules.until:
                continue
            yield self._item(cur, post)
        if not page.next_from or not (page.posts or page.skipped):
            if self.book.collected(cur.source, cur.target) >= 1000:
                log.warning(
                    "search %r reached VK's 1000-result cap: narrow the window (since/until)",
                    cur.query,
                )
            self._close_target(cur, OK)
            return
        params = dict(_query_params(response.url))
        params["start_from"] = page.next_from
        params.pop("v", None)
        yield self._request(replace(cur, attempts=0), params, self.parse_search)


def _communities(envelope: Any) -> list[Community]:
    try:
        return parse_groups(envelope)
    except VKApiError as err:
        if err.code != 100:
            raise
        return []  # 100: none of the names exists; each is reported as not found


def _resume_id(point: Resume | None) -> int | None:
    if point is None or not point.newest_post_id:
        return None
    try:
        return int(point.newest_post_id.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return None


def _query_params(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)
