"""Pure functions from VK API response bodies to posts, communities and error actions.

No Scrapy, no network: each takes the decoded JSON (or the raw body) and returns plain data,
so parser tests run on fixture files alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.post_keys import vk_post_id
from spiders.bodies import Unreadable, error_code, load_json, one_line

__all__ = ["Unreadable"]  # raised by parse_envelope; importable from here


class Action(enum.Enum):
    """What the crawler does about a VK error code (platforms.md §1.7)."""

    RETRY_SOON = "retry-soon"  # 6: too many requests per second
    RETRY_BACKOFF = "retry-backoff"  # 1, 10: unknown or internal error
    STOP_METHOD = "stop-method"  # 9, 29: flood control, daily quota: this method, this token
    STOP_SOURCE = "stop-source"  # 5, 17: token rejected
    PARK_TOKEN = "park-token"  # 14: captcha, never solved
    INACCESSIBLE = "inaccessible"  # closed, deleted, banned, invalid target
    ERROR = "error"  # anything else: recorded, the crawl goes on


_INACCESSIBLE = {7, 15, 18, 19, 30, 100, 104, 113, 200, 201, 203, 204, 205, 210, 211, 212, 3610}


def action_for(code: int) -> Action:
    if code == 6:
        return Action.RETRY_SOON
    if code in (1, 10):
        return Action.RETRY_BACKOFF
    if code in (9, 29):
        return Action.STOP_METHOD
    if code in (5, 17):
        return Action.STOP_SOURCE
    if code == 14:
        return Action.PARK_TOKEN
    if code in _INACCESSIBLE:
        return Action.INACCESSIBLE
    return Action.ERROR


class VKApiError(Exception):
    """An `{"error": …}` answer; `action` says what to do about it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"VK error {code}: {message}")
        self.code = code
        self.message = message
        self.action = action_for(code)


class LayoutError(Exception):
    """The body is JSON, but not the shape VK documents: the API changed or a proxy answered."""


class BadPost(ValueError):
    """One post whose values cannot be represented (a date beyond any calendar): it is skipped."""


def parse_envelope(body: bytes | str) -> Any:
    """The `response` of a VK answer; raises VKApiError for `error`, LayoutError for an unknown
    shape, and Unreadable for a body that is not whole JSON."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise LayoutError("answer is not a JSON object")
    if "error" in data:
        err = data["error"] if isinstance(data["error"], dict) else {}
        code = err.get("error_code")
        return _raise(
            error_code(code),
            one_line(err.get("error_msg") or "no message"),
        )
    if "response" not in data:
        raise LayoutError(f"answer has neither `response` nor `error` (keys: {sorted(data)[:5]})")
    return data["response"]


def _raise(code: int, message: str) -> Any:
    raise VKApiError(code, message)


@dataclass(frozen=True, slots=True)
class VKPost:
    """The fields of a VK post that vemeter keeps; `author_id` is pseudonymised by the spider."""

    owner_id: int
    id: int
    author_id: int | None
    published_at: datetime
    text: str
    repost_text: str
    is_repost: bool
    is_pinned: bool
    # `edited` (Unix time of the last edit) is present only on edited posts.
    edited: bool
    # marked_as_ads = 1 or post_type "post_ads"; None when the answer says neither way.
    is_promo: bool | None
    views: int | None
    likes: int | None
    reposts: int | None
    comments: int | None
    attachments: tuple[str, ...]

    @property
    def post_id(self) -> str:
        return vk_post_id(self.owner_id, self.id)

    @property
    def url(self) -> str:
        return f"https://vk.com/wall{self.post_id}"


def _count(obj: Any) -> int | None:
    if isinstance(obj, dict) and isinstance(obj.get("count"), int):
        return int(obj["count"])
    return None


def _list(value: Any) -> list[Any]:
    """A JSON list, or none: a field of another type is read as absent."""
    return value if isinstance(value, list) else []


def _attachment_text(att: list[Any]) -> list[str]:
    """Titles of videos and links are analysable text of an otherwise empty post."""
    out: list[str] = []
    for a in att:
        if isinstance(a, dict):
            inner = a.get(str(a.get("type")))
            if isinstance(inner, dict) and a.get("type") in ("video", "link", "article", "doc"):
                title = inner.get("title")
                if isinstance(title, str) and title.strip():
                    out.append(title.strip())
    return out


def _promo(raw: dict[str, Any]) -> bool | None:
    if raw.get("marked_as_ads") == 1 or raw.get("post_type") == "post_ads":
        return True
    if "marked_as_ads" in raw or "post_type" in raw:
        return False
    return None


def _whole(value: Any) -> int:
    """A JSON integer (or digits); TypeError/ValueError for anything else, floats included."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{type(value).__name__} {str(value)[:20]!r} is not an integer")
    return int(value)


def parse_post(raw: dict[str, Any]) -> VKPost:
    """One post object (`wall_wallpost_full`); unknown keys are ignored, missing counts are None.

    LayoutError when it lacks owner_id, id or date; BadPost when its date is beyond any calendar.
    """
    try:
        owner_id, post_id, date = _whole(raw["owner_id"]), _whole(raw["id"]), _whole(raw["date"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LayoutError(f"post lacks owner_id/id/date ({str(exc)[:60]})") from None
    try:
        published_at = datetime.fromtimestamp(date, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise BadPost(f"post {owner_id}_{post_id}: date {date} is beyond the calendar") from None
    history = _list(raw.get("copy_history"))
    repost_parts: list[str] = []
    for ancestor in history:
        if isinstance(ancestor, dict):
            text = ancestor.get("text")
            if isinstance(text, str) and text.strip():
                repost_parts.append(text)
            repost_parts.extend(_attachment_text(_list(ancestor.get("attachments"))))
    attachments = _list(raw.get("attachments"))
    text = raw.get("text") if isinstance(raw.get("text"), str) else ""
    if not str(text).strip():
        repost_parts.extend(_attachment_text(attachments))
    from_id = raw.get("from_id")
    return VKPost(
        owner_id=owner_id,
        id=post_id,
        author_id=int(from_id) if isinstance(from_id, int) else None,
        published_at=published_at,
        text=str(text),
        repost_text="\n".join(repost_parts),
        is_repost=bool(history),
        is_pinned=bool(raw.get("is_pinned")),
        edited=isinstance(raw.get("edited"), int) and raw.get("edited", 0) > 0,
        is_promo=_promo(raw),
        views=_count(raw.get("views")),
        likes=_count(raw.get("likes")),
        reposts=_count(raw.get("reposts")),
        comments=_count(raw.get("comments")),
        attachments=tuple(
            str(a.get("type")) for a in attachments if isinstance(a, dict) and a.get("type")
        ),
    )


def parse_posts(items: list[Any]) -> tuple[list[VKPost], list[str]]:
    """The posts of a page, and why each item that is not one was skipped.

    One odd post never costs the page: it is skipped with its reason. Only a page none of whose
    items is a post, for want of owner_id/id/date, is a changed layout (LayoutError).
    """
    posts: list[VKPost] = []
    skipped: list[str] = []
    layout: LayoutError | None = None
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            skipped.append(f"item {n} is not a JSON object")
            continue
        try:
            posts.append(parse_post(item))
        except LayoutError as exc:
            layout = layout or exc
            skipped.append(f"item {n}: {exc}")
        except BadPost as exc:
            skipped.append(str(exc))
    if layout is not None and not posts:
        raise layout
    return posts, skipped


@dataclass(frozen=True, slots=True)
class WallPage:
    count: int
    posts: list[VKPost]
    skipped: list[str]  # why each item that is no post was skipped
    shown: int  # items on the page, posts or not: the next page's offset moves by this


def parse_wall(response: Any) -> WallPage:
    """A `wall.get` response: the wall's total post count and this page's posts."""
    if not isinstance(response, dict) or not isinstance(response.get("items"), list):
        raise LayoutError("wall.get answer has no `items` list")
    count = response.get("count")
    posts, skipped = parse_posts(response["items"])
    return WallPage(
        count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        posts=posts,
        skipped=skipped,
        shown=len(response["items"]),
    )


@dataclass(frozen=True, slots=True)
class SearchPage:
    posts: list[VKPost]
    next_from: str | None
    skipped: list[str]


def parse_search(response: Any) -> SearchPage:
    """A `newsfeed.search` response; `next_from` is None on the last page.

    Items without an owner_id are not wall posts (search also finds other things): left out.
    """
    if not isinstance(response, dict) or not isinstance(response.get("items"), list):
        raise LayoutError("newsfeed.search answer has no `items` list")
    nxt = response.get("next_from")
    items = [i for i in response["items"] if not isinstance(i, dict) or "owner_id" in i]
    posts, skipped = parse_posts(items)
    return SearchPage(
        posts=posts,
        next_from=str(nxt) if nxt and isinstance(nxt, str | int) else None,
        skipped=skipped,
    )


@dataclass(frozen=True, slots=True)
class Community:
    id: int
    screen_name: str
    name: str
    is_closed: int
    deactivated: str | None

    @property
    def inaccessible_reason(self) -> str | None:
        if self.deactivated:
            return f"community is {self.deactivated}"
        if self.is_closed == 1:
            return "closed community: wall visible to members only"
        if self.is_closed == 2:
            return "private community: wall visible to members only"
        return None


def parse_groups(response: Any) -> list[Community]:
    """`groups.getById`: `{"groups": […]}` since 5.199, a bare list before (both accepted)."""
    items = response.get("groups") if isinstance(response, dict) else response
    if not isinstance(items, list):
        raise LayoutError("groups.getById answer has no `groups` list")
    out = []
    for g in items:
        if isinstance(g, dict) and isinstance(g.get("id"), int):
            out.append(
                Community(
                    id=int(g["id"]),
                    screen_name=str(g.get("screen_name") or f"club{g['id']}"),
                    name=str(g.get("name") or ""),
                    is_closed=_closed(g.get("is_closed")),
                    deactivated=str(g["deactivated"]) if g.get("deactivated") else None,
                )
            )
    return out


def _closed(value: Any) -> int:
    """`is_closed`: 0 open, 1 closed, 2 private; anything unknown counts as closed."""
    if value is None or value is False or value in (0, "0", ""):
        return 0
    if not isinstance(value, bool) and value in (1, 2, "1", "2"):
        return int(value)
    return 1


def parse_resolved(response: Any) -> tuple[str, int] | None:
    """`utils.resolveScreenName`: (type, object_id), or None for an unknown name (VK sends `[]`)."""
    if isinstance(response, dict) and isinstance(response.get("object_id"), int):
        return str(response.get("type")), int(response["object_id"])
    return None
