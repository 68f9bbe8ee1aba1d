"""One identity per post: the `post_id` each platform's posts are stored under.

Spiders build their keys here and `vemeter import` builds the same key from an export's id,
target and url columns, so a post crawled and imported is one post (posts are unique per
platform and post id). A row whose key would be ambiguous (a bare Telegram message number with
no channel) is refused with the fix, never guessed.

| platform | key | from an export |
|---|---|---|
| telegram | `channel/77` (username lower-cased) | `channel/77`, `t.me/channel/77`, or `77` with the channel in the target column or a t.me url |
| vk | `-123_456` (owner id, post id) | `-123_456`, `wall-123_456`, a vk.com/wall… address, or `456` with a community target (`-123`, `club123`) |
| ok | `456` (topic id; topic ids are unique across OK) | `456`, `group/456`, an ok.ru/…/topic/456 address |
| web | the post's canonical URL; a feed guid as `tag:…`/`urn:…` or `host#guid` | a URL, a `tag:`/`urn:` id, or a bare guid with the feed URL as target |

Other platforms keep the id as written.
"""

from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "MAX_POST_ID",
    "KeyProblem",
    "canonical_url",
    "import_key",
    "ok_post_id",
    "stored_id",
    "telegram_channel",
    "telegram_post_id",
    "vk_owner_id",
    "vk_post_id",
    "web_guid_id",
]

MAX_POST_ID = 96  # the posts.post_id column


class KeyProblem(ValueError):
    """A row's post key cannot be built without guessing; the message says what to add."""


# ---- the keys spiders store -----------------------------------------------------------------


def telegram_post_id(channel: str, message_id: int | str) -> str:
    """`channel/77`: usernames are case-insensitive, so a channel that changes its casing keeps
    its keys; message numbers are per channel, so the number alone is no identity."""
    return f"{channel.lower()}/{int(message_id)}"


def vk_post_id(owner_id: int | str, post_id: int | str) -> str:
    """`-123_456`: the wall's owner (negative for communities) and the post's number on it."""
    return f"{int(owner_id)}_{int(post_id)}"


def ok_post_id(topic_id: int | str) -> str:
    """The topic id as OK writes it (topic ids are unique across OK, not per group)."""
    return str(topic_id)


def stored_id(post_id: str) -> str:
    """A web post id as stored: long URLs become a digest of themselves (stable, and unique)."""
    if len(post_id) <= MAX_POST_ID:
        return post_id
    return "sha256:" + hashlib.sha256(post_id.encode()).hexdigest()


def canonical_url(raw: str, base: str | None = None) -> str | None:
    """An absolute http(s) URL in one spelling (lower-case host, no fragment, no utm_* tags), else None."""
    value = raw.strip()
    if not value:
        return None
    try:
        parts = urlsplit(urljoin(base, value) if base else value)
        host, port = parts.hostname, parts.port
    except ValueError:  # a broken IPv6 address or port
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port and port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    query = parts.query
    if "utm_" in query:  # campaign tags make one article look like many
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, v) for k, v in pairs if not k.lower().startswith("utm_")])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


_GLOBAL_GUID = re.compile(r"^[a-z][a-z0-9+.-]*:\S", re.I)  # tag:, urn: … are global by design
_HTTP = re.compile(r"^https?://", re.I)


def web_guid_id(guid: str, link: str | None, feed_url: str) -> str | None:
    """A feed entry's key before stored_id: its own id when it has one (URLs spelled
    canonically), else its link. A bare guid ("12345") is unique only within its site."""
    if guid:
        if _HTTP.match(guid):
            return canonical_url(guid) or guid
        if _GLOBAL_GUID.match(guid):
            return guid
        return f"{urlsplit(feed_url).hostname or ''}#{guid}"
    return link


# ---- targets as people write them -------------------------------------------------------------

_TG_HOST = r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?"
_TG_CHANNEL = re.compile(rf"^(?:{_TG_HOST}|@)?([A-Za-z0-9_]+)/?(?:[?#].*)?$", re.I)
_TG_POST = re.compile(rf"^(?:{_TG_HOST}|@)?([A-Za-z0-9_]+)/(\d+)/?(?:[?#].*)?$", re.I)
_VK_POST = re.compile(
    r"^(?:(?:https?://)?(?:m\.)?vk\.(?:com|ru)/(?:[^?#]*[?&]w=)?)?(?:wall)?(-?\d+)_(\d+)(?:[/?#&].*)?$",
    re.I,
)
_VK_OWNER = re.compile(
    r"^(?:(?:https?://)?(?:m\.)?vk\.(?:com|ru)/)?(?:(-?\d+)|(club|public|event|id)(\d+))/?$", re.I
)
_OK_TOPIC = re.compile(
    r"^(?:(?:https?://)?(?:m\.)?ok\.ru/.*topic/|[^/\s]+/)?(\d+)/?(?:[?#].*)?$", re.I
)


def telegram_channel(raw: str) -> str | None:
    """The username in `name`, `@name`, `t.me/name`, `https://t.me/s/name`; None otherwise."""
    raw = raw.strip()
    # Short values are cached (an import asks for the same few channels on every row); a long
    # one, from a hostile file, is not kept.
    return _channel_in(raw) if len(raw) <= _CACHED_TARGET else _channel_of(raw)


_CACHED_TARGET = 100


def _channel_of(raw: str) -> str | None:
    found = _TG_CHANNEL.match(raw)
    return found.group(1) if found else None


_channel_in = functools.lru_cache(maxsize=4096)(_channel_of)


def vk_owner_id(raw: str) -> int | None:
    """The wall owner a VK target names (-123, 123, club123, public123, id5, vk.com/…); None
    for a screen name, which only the API can resolve."""
    found = _VK_OWNER.match(raw.strip())
    if not found:
        return None
    number, kind, digits = found.groups()
    if number is not None:
        return -int(number) if not number.startswith("-") else int(number)
    return int(digits) if kind.lower() == "id" else -int(digits)


# ---- the key of an imported row -----------------------------------------------------------------


def import_key(
    platform: str, raw_id: str, target: str | None, url: str | None
) -> tuple[str, str | None]:
    """The stored key of an exported post, and the target it implies (None: none implied).

    Raises KeyProblem when the row does not say enough to build the key the spider builds.
    """
    if platform == "telegram":
        return _telegram_key(raw_id, target, url)
    if platform == "vk":
        return _vk_key(raw_id, target, url)
    if platform == "ok":
        found = _OK_TOPIC.match(raw_id)
        if found is None:
            raise KeyProblem(
                f"{raw_id[:40]!r} is not an OK topic id (write 456, group/456 or an ok.ru/…/topic/456 address)"
            )
        return ok_post_id(found.group(1)), None
    if platform == "web":
        return _web_key(raw_id, target), None
    return raw_id, None


def _telegram_key(raw_id: str, target: str | None, url: str | None) -> tuple[str, str | None]:
    channel = telegram_channel(target) if target else None
    if target and channel is None:
        raise KeyProblem(
            f"target {target[:40]!r} is not a Telegram channel (write name or t.me/name)"
        )
    found = _TG_POST.match(raw_id)
    if found is not None:
        named, number = found.groups()
        if channel is not None and named.lower() != channel.lower():
            raise KeyProblem(
                f"id {raw_id[:40]!r} is a message of {named!r} but the target is {channel!r}: "
                "which channel is it? (fix the id or the target column)"
            )
        return telegram_post_id(named, number), channel or named
    if not raw_id.isdigit():
        raise KeyProblem(
            f"{raw_id[:40]!r} is not a Telegram message id (write channel/77, t.me/channel/77, "
            "or 77 with the channel in the target column)"
        )
    if channel is None and url:
        by_url = _TG_POST.match(url.strip())
        if by_url is not None and int(by_url.group(2)) == int(raw_id):
            channel = by_url.group(1)
    if channel is None:
        raise KeyProblem(
            f"message {raw_id[:20]} has no channel: message numbers repeat across channels, so "
            "add the channel as the target column (import.fields.target) or write ids as channel/77"
        )
    return telegram_post_id(channel, raw_id), channel


def _vk_key(raw_id: str, target: str | None, url: str | None) -> tuple[str, str | None]:
    owner = vk_owner_id(target) if target else None
    found = _VK_POST.match(raw_id)
    if found is not None:
        owner_id, number = int(found.group(1)), found.group(2)
        if owner is not None and owner != owner_id:
            raise KeyProblem(
                f"id {raw_id[:40]!r} is a post of wall {owner_id} but the target is wall {owner}: "
                "which wall is it? (fix the id or the target column)"
            )
        return vk_post_id(owner_id, number), None
    if not raw_id.lstrip("-").isdigit() or raw_id.startswith("-"):
        raise KeyProblem(
            f"{raw_id[:40]!r} is not a VK post id (write -123_456, wall-123_456, a vk.com/wall… "
            "address, or 456 with the community as target)"
        )
    if owner is None and url:
        by_url = _VK_POST.match(url.strip())
        if by_url is not None and int(by_url.group(2)) == int(raw_id):
            owner = int(by_url.group(1))
    if owner is None:
        why = (
            f"target {target[:40]!r} is a screen name, which only VK can turn into a wall id"
            if target
            else "no target names its wall"
        )
        raise KeyProblem(
            f"post {raw_id[:20]} has no wall: post numbers repeat across walls and {why}; "
            "write ids as -123_456 or the target as -123 / club123"
        )
    return vk_post_id(owner, raw_id), None


def _web_key(raw_id: str, target: str | None) -> str:
    if _HTTP.match(raw_id):
        found = canonical_url(raw_id)
        if found is None:
            raise KeyProblem(f"{raw_id[:40]!r} is not a URL a web post can have")
        return stored_id(found)
    if _GLOBAL_GUID.match(raw_id) or ("#" in raw_id and "." in raw_id.partition("#")[0]):
        return stored_id(raw_id)  # tag:…, urn:…, or host#guid as the spider stores it
    host = urlsplit(target).hostname if target and _HTTP.match(target) else None
    if not host:
        raise KeyProblem(
            f"{raw_id[:40]!r} is an id only within its site: give the post's URL as id, or the "
            "feed URL as the target column"
        )
    return stored_id(f"{host}#{raw_id}")
