"""What a post must satisfy before the database sees it, checked the same way for every database.

SQLite stores a 200-character post id or a NUL without complaint where PostgreSQL refuses the
whole statement; both refuse a count over 2⁶³−1. Checking first makes the two agree and names
the field: a post that fails is quarantined with the reason (storage.quarantine), never stored
half-way. The checks run once per post in the writer (and per row in `vemeter import`), so they
are a handful of type, length and range tests, with a regular expression only on the rare
string that is not printable.

Text is not refused but repaired: control characters are removed and an overlong text is cut
(`clean_input_text`), and the post carries an `input` tag saying so (storage.records.input_tags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from storage.models import Post

__all__ = [
    "DEFAULT_MAX_TEXT_CHARS",
    "EARLIEST",
    "FUTURE_SLACK",
    "MAX_COUNT",
    "Problem",
    "check_post",
    "clean_input_text",
    "latest_allowed",
    "safe_text",
]

# Counts are BIGINT columns.
MAX_COUNT = 2**63 - 1
# VK opened in 2006, Facebook in 2004: an older date is a parsing error or a forgery.
EARLIEST = datetime(2004, 1, 1, tzinfo=UTC)
# A post "from tomorrow" is a clock skew across time zones at most; further is a bad date.
FUTURE_SLACK = timedelta(days=1)
# Characters of one post's text that are classified and stored; the rest is cut.
DEFAULT_MAX_TEXT_CHARS = 100_000

# In identifiers, names and URLs: every C0 and C1 control character, DEL, and lone surrogates
# (a JSON "\ud800" decodes to one; no database can encode it).
_CONTROL_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# In text, the same but for tab, line feed and carriage return (clean_text tidies those).
_CONTROL_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _length(column: str) -> int:
    length = getattr(Post.__table__.c[column].type, "length", None)
    assert isinstance(length, int), column
    return length


# (attribute, column length, required): the string columns of a post that come from outside.
_STRINGS: tuple[tuple[str, int, bool], ...] = (
    ("platform", _length("platform"), True),
    ("source", _length("source"), True),
    ("target", _length("target"), True),
    ("post_id", _length("post_id"), True),
    ("url", _length("url"), False),
    ("author", _length("author"), False),
    ("forwarded_from", _length("forwarded_from"), False),
)
_PLATFORM, _SOURCE, _TARGET, _POST_ID, _URL, _AUTHOR, _FORWARDED = (n for _, n, _ in _STRINGS)
_COUNTS = ("views", "likes", "reposts", "comments")
_FLAGS = ("edited", "is_promo")


class Checked(Protocol):
    """What check_post reads: a collected post (crawler.items.PostItem) or a stored form of one."""

    @property
    def platform(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def post_id(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def url(self) -> str | None: ...
    @property
    def author(self) -> str | None: ...
    @property
    def is_repost(self) -> bool: ...
    @property
    def views(self) -> int | None: ...
    @property
    def likes(self) -> int | None: ...
    @property
    def reposts(self) -> int | None: ...
    @property
    def comments(self) -> int | None: ...
    @property
    def edited(self) -> bool | None: ...
    @property
    def forwarded_from(self) -> str | None: ...
    @property
    def is_promo(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a post cannot be stored: the field and what is wrong with it (never its value's text)."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def latest_allowed(now: datetime | None = None) -> datetime:
    """The newest publication time accepted now; computed once per batch, not per post."""
    return (now or datetime.now(UTC)) + FUTURE_SLACK


def _type_name(value: object) -> str:
    return type(value).__name__


def check_post(item: Checked, latest: datetime) -> Problem | None:
    """The first reason `item` cannot be stored, or None; `latest` from latest_allowed().

    One expression answers for the usual post (about 1 µs); only a post it does not clear is
    checked field by field, to name the problem.
    """
    platform, source, target, post_id = item.platform, item.source, item.target, item.post_id
    url, author, forwarded = item.url, item.author, item.forwarded_from
    views, likes, reposts, comments = item.views, item.likes, item.reposts, item.comments
    published = item.published_at
    if (
        type(platform) is str and type(source) is str and type(target) is str
        and type(post_id) is str
        and 0 < len(platform) <= _PLATFORM and 0 < len(source) <= _SOURCE
        and 0 < len(target) <= _TARGET and 0 < len(post_id) <= _POST_ID
        and (url is None or (type(url) is str and len(url) <= _URL))
        and (author is None or (type(author) is str and len(author) <= _AUTHOR))
        and (forwarded is None or (type(forwarded) is str and len(forwarded) <= _FORWARDED))
        and (views is None or (type(views) is int and 0 <= views <= MAX_COUNT))
        and (likes is None or (type(likes) is int and 0 <= likes <= MAX_COUNT))
        and (reposts is None or (type(reposts) is int and 0 <= reposts <= MAX_COUNT))
        and (comments is None or (type(comments) is int and 0 <= comments <= MAX_COUNT))
        and f"{platform}{source}{target}{post_id}{url or ''}{author or ''}{forwarded or ''}".isprintable()
        and type(published) is datetime and published.tzinfo is not None
        and EARLIEST <= published <= latest
        and type(item.is_repost) is bool
        and (item.edited is None or type(item.edited) is bool)
        and (item.is_promo is None or type(item.is_promo) is bool)
    ):  # fmt: skip
        return None
    return _first_problem(item, latest)


def _first_problem(item: Checked, latest: datetime) -> Problem | None:
    """check_post's slow path: each field in turn, for the reason."""
    for name, limit, required in _STRINGS:
        value = getattr(item, name)
        if value is None or value == "":
            if required:
                return Problem(name, "missing")
            continue
        if not isinstance(value, str):  # a str subclass (bs4's NavigableString) is text too
            return Problem(name, f"expected text, got {_type_name(value)}")
        if len(value) > limit:
            return Problem(name, f"{len(value):,} characters, over the limit of {limit}")
        if not value.isprintable() and _CONTROL_ID.search(value):
            return Problem(name, "contains control characters or invalid Unicode")
    for name in _COUNTS:
        count = getattr(item, name)
        if count is None:
            continue
        if type(count) is not int:
            return Problem(name, f"expected a whole number, got {_type_name(count)}")
        if not 0 <= count <= MAX_COUNT:
            return Problem(name, f"{_short(count)} is outside 0…{MAX_COUNT}")
    published = item.published_at
    if not isinstance(published, datetime):
        return Problem("published_at", f"expected a date, got {_type_name(published)}")
    if published.tzinfo is None:
        return Problem("published_at", "has no time zone")
    if not EARLIEST <= published <= latest:
        return Problem(
            "published_at",
            f"{published:%Y-%m-%d} is outside {EARLIEST:%Y-%m-%d}…{latest:%Y-%m-%d} "
            "(before 2004 or more than a day ahead)",
        )
    if type(item.is_repost) is not bool:
        return Problem("is_repost", f"expected true or false, got {_type_name(item.is_repost)}")
    for name in _FLAGS:
        flag = getattr(item, name)
        if flag is not None and type(flag) is not bool:
            return Problem(name, f"expected true or false, got {_type_name(flag)}")
    return None


def _short(value: object, limit: int = 40) -> str:
    shown = str(value)
    return shown if len(shown) <= limit else f"{shown[: limit - 1]}…"


def clean_input_text(text: str, limit: int) -> tuple[str, int, int]:
    """(text without control characters, cut to `limit` characters; controls removed; chars cut).

    Control characters are removed before cutting, so the limit counts what is kept.
    """
    removed = 0
    if _CONTROL_TEXT.search(text) is not None:
        text, removed = _CONTROL_TEXT.subn("", text)
    cut = 0
    if len(text) > limit:
        cut = len(text) - limit
        text = text[:limit]
    return text, removed, cut


def safe_text(value: Any, limit: int) -> str:
    """`value` as a one-line string any database takes: no control characters, at most `limit`
    characters. For what quarantine and run rows say about a refused post, never for its text."""
    shown = value if isinstance(value, str) else str(value)
    if len(shown) > 4 * limit:  # do not scan megabytes to keep a few characters
        shown = shown[: 4 * limit]
    shown = _CONTROL_ID.sub(" ", shown).strip()
    return shown if len(shown) <= limit else f"{shown[: limit - 1]}…"
