"""Pure functions (no Scrapy, no network) from a t.me/s/<channel> page to posts and a paging cursor."""

# Selectors follow platforms.md §3.2.

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from crawler.post_keys import telegram_post_id
from spiders.bodies import Unreadable

__all__ = ["Unreadable"]  # raised by parse_channel_page; importable from here

NO_PREVIEW = "no public preview: private, restricted or not a channel"
# What is stored as a forward's origin when it is not a public channel or group: the name shown
# then is a person's (or a private chat's), and the post record keeps no names of people.
FORWARD_USER = "(user)"  # linked to a profile, not to a post: a person's or a bot's account
FORWARD_HIDDEN = "(hidden)"  # no link: the sender hides it, or the origin is a private chat

_DATA_POST = re.compile(r"^([A-Za-z][A-Za-z0-9_]{2,31})/(\d{1,18})$")
# A whole page ends with its closing tag; one cut off on the way does not.
_WHOLE = re.compile(rb"</html\s*>\s*\Z", re.IGNORECASE)
# A public channel's or group's message; private chats link as t.me/c/<number>/<id> instead.
_PUBLIC_POST = re.compile(r"^https?://t\.me/([A-Za-z][A-Za-z0-9_]{2,31})/\d+/?(?:[?#].*)?$")
_PROFILE = re.compile(r"^https?://t\.me/[A-Za-z][A-Za-z0-9_]{2,31}/?(?:[?#].*)?$")
_VIEWS = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KMBG]?)$", re.IGNORECASE)
_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000, "G": 1_000_000_000}
_SPACES = re.compile(r"[ \t\r\n\f]+")
# Media counted once per item (albums hold several), then kinds recorded once per message.
_PER_ITEM = (
    ("a.tgme_widget_message_photo_wrap", "photo"),
    (".tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player", "video"),
)
_ONCE = (
    (".tgme_widget_message_document", "document"),
    (".tgme_widget_message_voice", "voice"),
    (".tgme_widget_message_poll", "poll"),
    (".tgme_widget_message_location_wrap", "location"),
    (".tgme_widget_message_sticker, .tgme_widget_message_tgsticker", "sticker"),
    (".tgme_widget_message_videosticker", "sticker"),
    (".tgme_widget_message_contact", "contact"),
    (".message_media_not_supported", "unsupported"),
    ("a.tgme_widget_message_link_preview", "link"),
)


class LayoutError(Exception):
    """The page is not the shape the web preview has: Telegram changed it, or a proxy answered."""


class NoPublicHistory(Exception):
    """A Telegram page without a message history: the channel has no public preview."""

    def __init__(self) -> None:
        super().__init__(NO_PREVIEW)


@dataclass(frozen=True, slots=True)
class Forward:
    """Where a forwarded message came from; `url` is None when the origin is hidden."""

    name: str
    url: str | None

    @property
    def origin(self) -> str:
        """What is stored: the public channel's username (lower case, as in post ids) or a marker.

        Only a link to a message names a public channel or group; a link to a profile or no
        link at all means a person or a private chat, whose name is never stored.
        """
        if self.url is not None:
            if match := _PUBLIC_POST.match(self.url):
                return match.group(1).lower()
            if _PROFILE.match(self.url):
                return FORWARD_USER
        return FORWARD_HIDDEN


@dataclass(frozen=True, slots=True)
class TelegramPost:
    """One channel message as the web preview shows it."""

    channel: str  # canonical casing, from data-post
    message_id: int
    published_at: datetime
    text: str
    extra_text: str  # link-preview title/description or poll question of a message with no text
    views: int | None
    edited: bool | None  # None: the footer has no meta span, so an edit would not show
    forwarded_from: Forward | None
    reply_to: str | None
    author_signature: str | None
    media: tuple[str, ...]
    links: tuple[str, ...]

    @property
    def post_id(self) -> str:
        return telegram_post_id(self.channel, self.message_id)

    @property
    def url(self) -> str:
        return f"https://t.me/{self.channel}/{self.message_id}"

    @property
    def forward_origin(self) -> str | None:
        """PostItem.forwarded_from: None when not forwarded, else Forward.origin."""
        return self.forwarded_from.origin if self.forwarded_from is not None else None


@dataclass(frozen=True, slots=True)
class ChannelPage:
    """One page of a channel: its posts newest first, and the cursor of the next older page."""

    posts: list[TelegramPost]
    before: int | None  # None: this is the oldest page
    service_messages: int
    skipped: tuple[str, ...] = ()  # why each message that could not be read was left out


def parse_views(raw: str | None) -> int | None:
    """'845' → 845, '1.2K' → 1200, '3M' → 3000000; None when absent or unreadable."""
    if raw is None:
        return None
    match = _VIEWS.match(raw.strip().replace("\xa0", ""))
    if not match:
        return None
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return int(number * _SCALE[match.group(2).upper()])


def _href(tag: Tag) -> str | None:
    value = tag.get("href")
    if not isinstance(value, str) or not value:
        return None
    # Since 2024 links with an onclick confirm carry `&amp;` escaped twice (platforms.md §3.5).
    return html.unescape(value)


def _join(page: str, href: str) -> str | None:
    """A link of a message as an absolute URL; None for one no URL parser can read (http://[x)."""
    try:
        return urljoin(page, href)
    except ValueError:
        return None


def _text_of(node: Tag) -> str:
    """Visible text: source whitespace collapsed, <br> as a line break, link text and emoji kept."""
    for string in list(node.find_all(string=True)):
        if isinstance(string, NavigableString):
            string.replace_with(_SPACES.sub(" ", str(string)))
    for br in node.find_all("br"):
        br.replace_with("\n")
    text = node.get_text()
    return re.sub(r" *\n *", "\n", text).strip()


def _media(message: Tag) -> tuple[str, ...]:
    kinds: list[str] = []
    for selector, kind in _PER_ITEM:
        kinds.extend(kind for _ in message.select(selector))
    once = (kind for selector, kind in _ONCE if message.select_one(selector) is not None)
    return (*kinds, *dict.fromkeys(once))


def _extra_text(message: Tag) -> str:
    parts = []
    for selector in (
        ".link_preview_title",
        ".link_preview_description",
        ".tgme_widget_message_poll_question",
    ):
        for node in message.select(selector):
            if text := _text_of(node):
                parts.append(text)
    return "\n".join(parts)


def _published_at(message: Tag, key: str) -> datetime:
    node = message.select_one(".tgme_widget_message_date time[datetime]") or message.select_one(
        ".tgme_widget_message_footer time[datetime]"
    )
    raw = node.get("datetime") if node is not None else None
    if not isinstance(raw, str):
        raise LayoutError(f"message {key} has no time[datetime] in its footer")
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or beyond the calendar once in UTC
        raise LayoutError(f"message {key} has an unreadable datetime {raw[:40]!r}") from None


def parse_message(message: Tag, channel: str, message_id: int) -> TelegramPost:
    """One `div.tgme_widget_message` (not a service message); the tag is consumed."""
    key = f"{channel}/{message_id}"
    published_at = _published_at(message, key)
    reply_to = None
    # The reply block quotes another message's text with the same classes: it is not ours.
    for reply in message.select(".tgme_widget_message_reply"):
        reply_to = reply_to or _href(reply)
        reply.decompose()
    forward = None
    if (origin := message.select_one(".tgme_widget_message_forwarded_from_name")) is not None:
        url = _href(origin) if origin.name == "a" else None
        forward = Forward(_text_of(origin), url)
    views = message.select_one(".tgme_widget_message_views")
    meta = message.select_one(".tgme_widget_message_meta")
    signature = message.select_one(".tgme_widget_message_from_author")
    body = message.select_one(".tgme_widget_message_text")
    links: tuple[str, ...] = ()
    text = ""
    if body is not None:
        # Hashtag links are relative to the channel's preview (`?q=%23tag`).
        page = f"https://t.me/s/{channel}"
        links = tuple(
            link for a in body.find_all("a") if (h := _href(a)) and (link := _join(page, h))
        )
        text = _text_of(body)
    media = _media(message)
    return TelegramPost(
        channel=channel,
        message_id=message_id,
        published_at=published_at,
        text=text,
        extra_text="" if text else _extra_text(message),
        views=parse_views(views.get_text()) if views is not None else None,
        edited=("edited" in meta.get_text().lower()) if meta is not None else None,
        forwarded_from=forward,
        reply_to=reply_to,
        author_signature=(_text_of(signature) or None) if signature is not None else None,
        media=media,
        links=links,
    )


def _key(message: Tag) -> tuple[str, int]:
    raw = message.get("data-post")
    match = _DATA_POST.match(raw) if isinstance(raw, str) else None
    if not match:
        raise LayoutError(f"a message has an unreadable data-post {raw!r} (expected channel/123)")
    return match.group(1), int(match.group(2))


def _cursor(soup: BeautifulSoup, ids: list[int]) -> int | None:
    more = soup.select_one('a.tme_messages_more[data-before], a.tme_messages_more[href*="before="]')
    if more is None:
        return None  # no link back: this is the start of the channel's history
    raw = more.get("data-before")
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    href = _href(more) or ""
    if found := re.search(r"[?&]before=(\d+)", href):
        return int(found.group(1))
    return min(ids) if ids else None


def _empty_page(soup: BeautifulSoup) -> ChannelPage:
    if soup.select_one(".tme_no_messages_found") is not None:
        return ChannelPage([], None, 0)
    history = soup.select_one(".tgme_channel_history, .js-message_history")
    if history is not None:
        if history.find(True) is not None:
            raise LayoutError("the message history holds no tgme_widget_message elements")
        raise NoPublicHistory()
    if soup.select_one(".tgme_page, .tgme_channel_info") is not None:
        raise NoPublicHistory()
    raise LayoutError("neither messages, a 'no messages' notice nor a channel header found")


def parse_channel_page(body: str | bytes) -> ChannelPage:
    """A t.me/s/<channel> page. Raises NoPublicHistory or LayoutError instead of returning 0 posts.

    Unreadable when the page is not whole (cut off before its closing </html>): asked again. One
    message that cannot be read is left out (`skipped`); a page none of whose messages can be
    read is a LayoutError.
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if not raw.strip():
        raise Unreadable("empty page")
    if _WHOLE.search(raw[-512:]) is None:
        raise Unreadable(f"page cut off before </html> ({len(raw)} bytes)")
    # t.me serves UTF-8; decoded here, a page's own <meta charset> (even a bogus one) is moot.
    soup = BeautifulSoup(raw.decode("utf-8", "replace"), "lxml")
    messages = soup.select(".tgme_widget_message")
    for wrap in soup.select(".tgme_widget_message_wrap"):
        if wrap.select_one(".tgme_widget_message") is None:
            raise LayoutError("a tgme_widget_message_wrap holds no tgme_widget_message")
    if not messages:
        return _empty_page(soup)
    posts: list[TelegramPost] = []
    ids: list[int] = []
    skipped: list[str] = []
    layout: LayoutError | None = None
    service = 0
    for message in messages:
        if message.find_parent(class_="tgme_widget_message_wrap") is None:
            raise LayoutError("a tgme_widget_message outside any tgme_widget_message_wrap")
        try:
            channel, message_id = _key(message)
            ids.append(message_id)
            if "service_message" in message.get_attribute_list("class"):
                service += 1  # "Channel created", pin notices, photo changes: not posts
                continue
            posts.append(parse_message(message, channel, message_id))
        except LayoutError as exc:
            layout = layout or exc
            skipped.append(str(exc))
    if layout is not None and not posts:
        raise layout
    posts.sort(key=lambda p: p.message_id, reverse=True)
    return ChannelPage(posts, _cursor(soup, ids), service, tuple(skipped))
