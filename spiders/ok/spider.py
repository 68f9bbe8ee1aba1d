"""The OK spider: resolve and gate public groups, then page their topics politely, newest first.

Every call is a signed POST form to `fb.do`, so the access token and signature stay out of
URLs and logs; calls share one rate limit per application key, and every OK error becomes an
action (platforms.md §2.6): retry, park the key, stop the source, or record the target as
inaccessible and go on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import scrapy
from scrapy.http import Response

from crawler.items import PostItem
from crawler.post_keys import ok_post_id
from crawler.secrets import read_secret
from crawler.spiderbase import Outcome, RequestFailure, SourceSpider, Unread
from crawler.targets import ERROR, INACCESSIBLE, LAYOUT_CHANGED, OK, RATE_LIMITED
from spiders.ok.parse import (
    HINTS,
    Action,
    LayoutError,
    OKApiError,
    OKTopic,
    Unreadable,
    parse_envelope,
    parse_groups,
    parse_topics,
    parse_url_info,
)
from spiders.ok.rules import OKRules
from spiders.ok.signing import session_secret, signed_params
from storage.runs import Resume

log = logging.getLogger(__name__)
T = TypeVar("T")

GROUP_BATCH = 50  # uids per group.getInfo call; OK documents no maximum, so stay modest
RETRIES = 3  # §2.6: UNKNOWN / SERVICE / SYSTEM are retried three times with back-off
TOPIC_FIELDS = ",".join(
    "media_topic." + f
    for f in (
        "id", "created_ms", "author_ref", "owner_ref", "media", "is_sticky", "is_promo",
        "like_summary", "reshare_summary", "discussion_summary", "media_reshare",
    )
)  # fmt: skip
_OWN_META = ("cursor", "rate_key", "rate_per_second", "handle_httpstatus_list")
# OK sometimes answers an error object with a 4xx status (§0.1): read those bodies too.
_ERROR_STATUSES = [400, 401, 403, 404]


@dataclass(frozen=True)
class Cursor:
    """Where one target (or a batch of targets, comma-joined) stands."""

    source: str
    target: str
    method: str
    gid: str = ""  # group id(s), parallel to `target`
    anchor: str | None = None
    resume_id: str | None = None  # newest topic of the last complete crawl
    resume_at: datetime | None = None
    attempts: int = 0


@dataclass
class _Creds:
    rate_key: str  # "ok:" + sha256(application key)[:12]: OK limits are per application
    app_key: str
    secret: str
    token: str
    key_env: str  # variable names, for messages
    envs: str
    halted: tuple[str, str] | None = None  # (status, reason) once OK rejected these credentials

    def scrub(self, text: str) -> str:
        """`text` without any secret value, in case OK ever echoes one in an error message."""
        for value in (self.token, self.secret, session_secret(self.token, self.secret)):
            text = text.replace(value, "…")
        return text


class OKSpider(SourceSpider[OKRules]):
    """Public OK group topics via the official REST API."""

    name = "ok"
    rules_type = OKRules
    # Answers over this size are dropped, never retried, and recorded as the target's problem:
    # a page of 100 topics is well under 1 MiB.
    custom_settings = {  # noqa: RUF012 (Scrapy's own attribute, read once per crawl)
        "DOWNLOAD_MAXSIZE": 16 * 1024 * 1024,
        "DOWNLOAD_WARNSIZE": 4 * 1024 * 1024,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.creds_of: dict[str, _Creds] = {}
        self.parked: dict[str, tuple[str, str]] = {}  # rate key → (status, reason)
        self.resume: dict[str, dict[str, Resume]] = {}
        shared: dict[tuple[str, str, str], _Creds] = {}
        for rules in self.rules:
            envs = rules.secret_envs()
            app_key, secret, token = (
                read_secret(env, envs[env], f"export {env}=…")
                for env in (rules.app_key_env, rules.app_secret_env, rules.token_env)
            )
            # Sources with the same credentials share them, so a rejection stops them all.
            self.creds_of[rules.name] = shared.setdefault(
                (app_key, secret, token),
                _Creds(
                    rate_key="ok:" + hashlib.sha256(app_key.encode()).hexdigest()[:12],
                    app_key=app_key,
                    secret=secret,
                    token=token,
                    key_env=rules.app_key_env,
                    envs=f"{rules.app_key_env}, {rules.app_secret_env} and {rules.token_env}",
                ),
            )

    # ---- plumbing -------------------------------------------------------------------------

    def _request(self, cur: Cursor, params: dict[str, Any], callback: Any) -> scrapy.Request:
        rules = self.rules_for(cur.source)
        creds = self.creds_of[cur.source]
        form = signed_params(
            {"method": cur.method, **params},
            application_key=creds.app_key,
            access_token=creds.token,
            secret_key=creds.secret,
        )
        return scrapy.FormRequest(
            rules.api_base,
            formdata=form,
            callback=callback,
            errback=self._failed,
            dont_filter=True,
            meta={
                "cursor": cur,
                "rate_key": creds.rate_key if rules.requests_per_second > 0 else None,
                "rate_per_second": rules.requests_per_second,
                "handle_httpstatus_list": _ERROR_STATUSES,
            },
        )

    def _block(self, cur: Cursor) -> tuple[str, str] | None:
        creds = self.creds_of[cur.source]
        return creds.halted or self.parked.get(creds.rate_key)

    def blocked_reason(self, request: scrapy.Request) -> str | None:
        """Asked by the rate-limit middleware before sending: are this request's keys stopped?"""
        cur: Cursor | None = request.meta.get("cursor")
        block = self._block(cur) if cur is not None else None
        return block[1] if block else None

    def _close(self, cur: Cursor, status: str, reason: str | None = None) -> None:
        for target in cur.target.split(","):
            self.finish(cur.source, target, status, reason)

    async def _on_error(self, err: OKApiError, response: Response) -> scrapy.Request | None:
        """Act on an OK error; returns a request to retry, or None when the target is closed."""
        cur: Cursor = response.meta["cursor"]
        creds = self.creds_of[cur.source]
        what = creds.scrub(f"OK error {err.code} on {cur.method}: {err.message}")
        hint = HINTS.get(err.code)
        if err.action is Action.RETRY:
            if cur.attempts >= RETRIES:
                self._close(cur, ERROR, f"{what} (still after {RETRIES} retries)")
                return None
            again = replace(cur, attempts=cur.attempts + 1)
            stat = f"vemeter/ok_error_{err.code}"
            return await self.retry_answer(response, again, 2.0**cur.attempts, stat, _OWN_META)
        if err.action is Action.PARK_KEY:
            reason = (
                f"{what} — {hint}; the application key in {creds.key_env} is parked for this run"
            )
            self.parked.setdefault(creds.rate_key, (RATE_LIMITED, reason))
            log.error("source %s: %s", cur.source, reason)
            self._close(cur, RATE_LIMITED, reason)
        elif err.action is Action.STOP_SOURCE:
            creds.halted = (ERROR, f"{what} — {hint}; check {creds.envs} and run again")
            log.error("source %s stopped: %s", cur.source, creds.halted[1])
            self.credentials_rejected.update(s for s, c in self.creds_of.items() if c is creds)
            self._close(cur, ERROR, creds.halted[1])
        elif err.action is Action.INACCESSIBLE:
            if cur.method == "url.getInfo" and err.code == 300:
                hint = f"no group at https://ok.ru/{cur.target}"
            self._close(cur, INACCESSIBLE, f"{hint} ({what})")
        else:
            self._close(cur, ERROR, what)
        return None

    # ---- hooks of the shared errback (SourceSpider._failed) --------------------------------

    def close_failed(self, request: scrapy.Request, status: str, reason: str) -> None:
        self._close(request.meta["cursor"], status, reason)

    def stopped_outcome(self, failed: RequestFailure) -> Outcome | None:
        return self._block(failed.request.meta["cursor"])

    def failure_where(self, request: scrapy.Request) -> str:
        cur: Cursor = request.meta["cursor"]
        return cur.method

    def unreachable_reason(self, failed: RequestFailure) -> str:
        cur: Cursor = failed.request.meta["cursor"]
        api = self.rules_for(cur.source).api_base
        return f"cannot reach {api} ({self.creds_of[cur.source].scrub(failed.why)})"

    async def _read(self, response: Response, parse: Callable[[Any], T]) -> T | Unread:
        """What `parse` reads from an OK answer; on an OK error, an unreadable body or an unknown
        shape, Unread (with a request to send again when the error or the body calls for one)."""
        cur: Cursor = response.meta["cursor"]
        try:
            return parse(parse_envelope(response.body, response.status))
        except OKApiError as err:
            return Unread(await self._on_error(err, response))
        except Unreadable as exc:
            if response.status >= 300:  # an error page, not an answer cut off on the way
                self._close(cur, ERROR, f"{cur.method}: HTTP {response.status} ({exc})")
                return Unread()
            again, why = self.retry_unreadable(response, str(exc))
            if again is None:
                self._close(cur, ERROR, f"{cur.method}: {self.creds_of[cur.source].scrub(why)}")
            return Unread(again)
        except LayoutError as exc:
            if response.status >= 300:  # an error page, not a changed API
                self._close(cur, ERROR, f"{cur.method}: HTTP {response.status} ({exc})")
            else:
                self._close(cur, LAYOUT_CHANGED, f"{cur.method}: {exc}")
            return Unread()

    def _item(self, cur: Cursor, topic: OKTopic) -> PostItem:
        return self.post_item(
            cur.source,
            cur.target,
            topic.created_ms,
            post_id=ok_post_id(topic.id),
            published_at=topic.published_at,
            text=topic.text,
            # The whole ref ("user:…"/"group:…"): user and group ids are separate namespaces.
            author=topic.author,
            url=topic.url or f"https://ok.ru/group/{cur.gid}/topic/{topic.id}",
            is_repost=topic.is_reshare,
            is_pinned=topic.is_sticky,
            views=topic.views,
            likes=topic.likes,
            reposts=topic.reshares,
            comments=topic.comments,
            attachments=topic.media_types,
            is_promo=topic.is_promo,
        )

    # ---- crawl ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.resume = self.resume_points()
        for rules in self.rules:
            for target in rules.targets:
                self.book.add(rules.name, target)
            ids = [t for t in rules.targets if t.isdigit()]
            for start in range(0, len(ids), GROUP_BATCH):
                chunk = ",".join(ids[start : start + GROUP_BATCH])
                yield self._group_request(Cursor(rules.name, chunk, "group.getInfo", gid=chunk))
            for name in (t for t in rules.targets if not t.isdigit()):
                cur = Cursor(rules.name, name, "url.getInfo")
                yield self._request(cur, {"url": f"https://ok.ru/{name}"}, self.parse_resolved)

    def _group_request(self, cur: Cursor) -> scrapy.Request:
        params = {"uids": cur.gid, "fields": "uid,name,shortname,access_type"}
        return self._request(cur, params, self.parse_groups)

    def _topics_request(self, cur: Cursor) -> scrapy.Request:
        params = {
            "gid": cur.gid,
            "count": self.rules_for(cur.source).page_size,
            "anchor": cur.anchor,
            "fields": TOPIC_FIELDS,
        }
        return self._request(cur, params, self.parse_topics)

    async def parse_resolved(self, response: Response) -> AsyncIterator[scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        resolved = await self._read(response, parse_url_info)
        if isinstance(resolved, Unread):
            if resolved.retry is not None:
                yield resolved.retry
            return
        if resolved is None:
            self._close(cur, INACCESSIBLE, f"no group at https://ok.ru/{cur.target}")
        elif resolved[0] != "GROUP":
            what = resolved[0].lower()
            self._close(cur, INACCESSIBLE, f"https://ok.ru/{cur.target} is a {what}, not a group")
        else:
            yield self._group_request(replace(cur, method="group.getInfo", gid=resolved[1]))

    async def parse_groups(self, response: Response) -> AsyncIterator[scrapy.Request]:
        batch: Cursor = response.meta["cursor"]
        groups = await self._read(response, parse_groups)
        if isinstance(groups, Unread):
            if groups.retry is not None:
                yield groups.retry
            return
        by_id = {g.uid: g for g in groups}
        resume = self.resume.get(batch.source, {})
        for target, gid in zip(batch.target.split(","), batch.gid.split(","), strict=True):
            cur = Cursor(batch.source, target, "mediatopic.getTopics", gid=gid)
            group = by_id.get(gid)
            named = f"group {gid}" if gid == target else f"group {target} (id {gid})"
            if group is None:
                self._close(cur, INACCESSIBLE, f"{named} not found (deleted, or a wrong id)")
            elif reason := group.inaccessible_reason:
                self._close(cur, INACCESSIBLE, reason)
            else:
                point = resume.get(target)
                if point is not None and point.newest_post_id:
                    cur = replace(
                        cur, resume_id=point.newest_post_id, resume_at=point.newest_published_at
                    )
                yield self._topics_request(cur)

    async def parse_topics(self, response: Response) -> AsyncIterator[PostItem | scrapy.Request]:
        cur: Cursor = response.meta["cursor"]
        if not self.book.is_open(cur.source, cur.target):
            return
        page = await self._read(response, parse_topics)
        if isinstance(page, Unread):
            if page.retry is not None:
                yield page.retry
            return
        self.skipped(cur.source, cur.target, page.skipped)
        items, stop = self.newest_first(
            cur,
            page.topics,
            self._item,
            known=lambda topic: _known(cur, topic),
            pinned=lambda topic: topic.is_sticky,
        )
        for item in items:
            yield item
        if stop or not page.has_more:
            self._close(cur, OK)
        elif page.anchor == cur.anchor:
            self._close(cur, ERROR, "mediatopic.getTopics returned the same anchor twice")
        else:
            yield self._topics_request(replace(cur, anchor=page.anchor, attempts=0))


def _known(cur: Cursor, topic: OKTopic) -> bool:
    """Reached by the last complete crawl: its newest topic, or anything older."""
    if cur.resume_id is None:
        return False
    at = cur.resume_at
    return topic.id == cur.resume_id or (at is not None and topic.published_at < at)
