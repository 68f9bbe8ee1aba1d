"""Pure functions from OK REST response bodies to topics, groups and error actions (platforms.md §2).

No Scrapy, no network: each takes the raw body (or decoded JSON) and returns plain data, so
parser tests run on fixture files alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spiders.bodies import Unreadable, error_code, load_json, one_line

__all__ = ["Unreadable"]  # raised by parse_envelope; importable from here


class Action(enum.Enum):
    """What the crawler does about an OK error code (platforms.md §2.6)."""

    RETRY = "retry"  # 1, 2, 9999: unknown, service unavailable, system error
    PARK_KEY = "park-key"  # 7, 8, 9, 11, 402: blocked, flood, IP, quota, captcha: stop the key
    STOP_SOURCE = "stop-source"  # 3, 101-105, 210, 453: keys, token or signature rejected
    INACCESSIBLE = "inaccessible"  # 10, 200, 300: closed group, no permission, not found
    ERROR = "error"  # anything else (4 REQUEST, 100 PARAM, …): recorded, the crawl goes on


_RETRY = frozenset({1, 2, 9999})
_PARK = frozenset({7, 8, 9, 11, 402})
_STOP = frozenset({3, 101, 102, 103, 104, 105, 210, 453})
_INACCESSIBLE = frozenset({10, 200, 300})

# What a person can do about each stopping error; the message names the env var to fix.
HINTS: dict[int, str] = {
    3: "the API has no such method for this application",
    7: "OK blocked actions of this application",
    8: "flood protection: lower requests_per_second and run again later",
    9: "OK blocked this IP address; vemeter never works around a block",
    11: "the application's call quota is used up; run again after it resets",
    101: "the application key is not known to OK",
    102: "the access token has expired; get a new one",
    103: "the access token is not valid; get a new one",
    104: "bad signature: the application secret key or the token is wrong",
    105: "bad signature: the application secret key or the token is wrong",
    210: "the application is disabled",
    402: "captcha requested; vemeter never solves captchas",
    453: "this method needs an access token",
    10: "closed group, or the application lacks VALUABLE_ACCESS / GROUP_CONTENT",
    200: "the application lacks a permission (VALUABLE_ACCESS / GROUP_CONTENT)",
    300: "not found (deleted, or a wrong id)",
}


def action_for(code: int) -> Action:
    if code in _RETRY:
        return Action.RETRY
    if code in _PARK:
        return Action.PARK_KEY
    if code in _STOP:
        return Action.STOP_SOURCE
    if code in _INACCESSIBLE:
        return Action.INACCESSIBLE
    return Action.ERROR


class OKApiError(Exception):
    """An `{"error_code": …}` answer; `action` says what to do about it."""

    def __init__(self, code: int, message: str, status: int = 200) -> None:
        super().__init__(f"OK error {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.action = action_for(code)


class LayoutError(Exception):
    """The body is JSON, but not the shape OK documents: the API changed or a proxy answered."""


class BadTopic(ValueError):
    """One topic whose values cannot be represented (a date beyond any calendar): it is skipped."""


def parse_envelope(body: bytes | str, status: int = 200) -> Any:
    """The decoded answer; raises OKApiError for an error object, Unreadable for a body that is
    not whole JSON."""
    data = load_json(body)
    if isinstance(data, dict) and "error_code" in data:
        code = data.get("error_code")
        number = error_code(code)
        raise OKApiError(number, one_line(data.get("error_msg") or "no message"), status)
    return data


@dataclass(frozen=True, slots=True)
class OKTopic:
    """The fields of an OK media topic that vemeter keeps; the spider pseudonymises `author`."""

    id: str
    group_id: str | None  # from owner_ref "group:<id>"
    author: str | None  # author_ref as sent ("group:<id>" / "user:<id>"), raw until pseudonymised
    created_ms: int
    text: str
    is_sticky: bool
    is_promo: bool
    is_reshare: bool
    likes: int | None
    comments: int | None
    reshares: int | None
    views: int | None
    media_types: tuple[str, ...]

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.created_ms / 1000, tz=UTC)

    @property
    def url(self) -> str | None:
        if self.group_id is None:
            return None
        return f"https://ok.ru/group/{self.group_id}/topic/{self.id}"


def _count(obj: Any, key: str = "count") -> int | None:
    if isinstance(obj, dict) and isinstance(obj.get(key), int) and not isinstance(obj[key], bool):
        return int(obj[key])
    return None


def _ref(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str) and ":" in value:
        kind, _, ident = value.partition(":")
        if kind and ident:
            return kind, ident
    return None


def parse_topic(raw: Any) -> OKTopic:
    """One media topic object (§2.4); unknown keys are ignored, missing counts are None."""
    if not isinstance(raw, dict):
        raise LayoutError("a media topic is not a JSON object")
    topic_id, created = raw.get("id"), raw.get("created_ms")
    if not isinstance(topic_id, str | int) or isinstance(topic_id, bool) or not str(topic_id):
        raise LayoutError("media topic lacks `id`")
    if not isinstance(created, int) or isinstance(created, bool):
        raise LayoutError(f"media topic {str(topic_id)[:40]} lacks `created_ms`")
    try:
        datetime.fromtimestamp(created / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadTopic(
            f"topic {str(topic_id)[:40]}: created_ms {created} is beyond the calendar"
        ) from None
    media = raw.get("media")
    blocks = [m for m in media if isinstance(m, dict)] if isinstance(media, list) else []
    # Post text is every text block in order: some clients kept only the first, losing text.
    texts = [str(m["text"]) for m in blocks if m.get("type") == "text" and m.get("text")]
    types = tuple(str(m["type"]) for m in blocks if m.get("type") and m.get("type") != "text")
    owner = _ref(raw.get("owner_ref"))
    return OKTopic(
        id=str(topic_id),
        group_id=owner[1] if owner and owner[0] == "group" else None,
        author=raw["author_ref"] if _ref(raw.get("author_ref")) else None,
        created_ms=created,
        text="\n".join(texts),
        is_sticky=raw.get("is_sticky") is True,
        is_promo=raw.get("is_promo") is True,
        is_reshare="reshare" in types or bool(raw.get("media_reshare")),
        likes=_count(raw.get("like_summary")),
        comments=_count(raw.get("discussion_summary"), "comments_count"),
        reshares=_count(raw.get("reshare_summary")),
        # Not in platforms.md: read by analogy with the other *_summary counters when sent [U].
        views=_count(raw.get("views_summary")),
        media_types=types,
    )


@dataclass(frozen=True, slots=True)
class TopicsPage:
    topics: list[OKTopic]
    anchor: str | None
    has_more: bool
    skipped: list[str]  # why each item that is no topic was skipped


def parse_topics(data: Any) -> TopicsPage:
    """`mediatopic.getTopics`: topics newest first, with the `anchor` of the next page.

    Without `has_more`, paging goes on while an anchor comes back with topics (§2.4).
    """
    if not isinstance(data, dict):
        raise LayoutError("mediatopic.getTopics answer is not a JSON object")
    items = data.get("media_topics")
    if items is None and ("has_more" in data or "anchor" in data):
        items = []  # OK leaves out empty lists
    if not isinstance(items, list):
        raise LayoutError(f"answer has no `media_topics` list (keys: {sorted(data)[:5]})")
    topics, skipped = parse_topic_list(items)
    anchor = data.get("anchor")
    anchor = str(anchor) if isinstance(anchor, str | int) and str(anchor) else None
    more = data.get("has_more")
    has_more = more is True if isinstance(more, bool) else bool(anchor and (topics or skipped))
    if has_more and anchor is None:
        raise LayoutError("answer says `has_more` but gives no `anchor` to continue from")
    return TopicsPage(topics, anchor, has_more, skipped)


def parse_topic_list(items: list[Any]) -> tuple[list[OKTopic], list[str]]:
    """The topics of a page, and why each item that is not one was skipped.

    One odd topic never costs the page; only a page none of whose items is a topic, for want
    of an id or created_ms, is a changed layout (LayoutError).
    """
    topics: list[OKTopic] = []
    skipped: list[str] = []
    layout: LayoutError | None = None
    for n, item in enumerate(items, 1):
        try:
            topics.append(parse_topic(item))
        except LayoutError as exc:
            layout = layout or exc
            skipped.append(f"item {n}: {exc}")
        except BadTopic as exc:
            skipped.append(str(exc))
    if layout is not None and not topics:
        raise layout
    return topics, skipped


@dataclass(frozen=True, slots=True)
class OKGroup:
    uid: str
    name: str
    shortname: str
    access_type: str | None  # OPEN / CLOSED / SECRET

    @property
    def inaccessible_reason(self) -> str | None:
        kind = (self.access_type or "OPEN").upper()
        if kind == "CLOSED":
            return "closed group: topics visible to members only"
        if kind == "SECRET":
            return "secret group: visible to members only"
        if kind != "OPEN":
            return f"group access type {kind}: not a public group"
        return None


def parse_groups(data: Any) -> list[OKGroup]:
    """`group.getInfo`: a bare list, or `{"groups": […]}` as the documentation shows (both kept)."""
    items = data.get("groups") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise LayoutError("group.getInfo answer is not a list of groups")
    out = []
    for g in items:
        uid = g.get("uid") if isinstance(g, dict) else None
        if isinstance(uid, str | int) and not isinstance(uid, bool) and str(uid):
            access = g.get("access_type")
            out.append(
                OKGroup(
                    uid=str(uid),
                    name=str(g.get("name") or ""),
                    shortname=str(g.get("shortname") or ""),
                    access_type=str(access) if access else None,
                )
            )
    return out


def parse_url_info(data: Any) -> tuple[str, str] | None:
    """`url.getInfo`: (type, object id as a string), or None when OK knows no object there."""
    if not isinstance(data, dict):
        raise LayoutError("url.getInfo answer is not a JSON object")
    kind = data.get("type")
    ident = data.get("objectIdStr") or data.get("objectId")
    if not isinstance(kind, str) or kind.upper() == "UNKNOWN" or not ident:
        return None
    return kind.upper(), str(ident)
