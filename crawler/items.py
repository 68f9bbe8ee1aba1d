"""The item every spider yields: one public post, already pseudonymised, not yet classified."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(slots=True)
class PostItem:
    """A post as collected. `author` is a keyed pseudonym; the raw id never leaves the spider."""

    platform: str
    source: str
    target: str
    post_id: str
    published_at: datetime
    text: str
    url: str | None = None
    author: str | None = None
    extra_text: str = ""  # text the post carries from elsewhere, e.g. a repost's original
    is_repost: bool = False
    is_pinned: bool = False
    views: int | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    attachments: tuple[str, ...] = ()
    # None where the platform does not say (every platform but the one that fills each field).
    edited: bool | None = None
    forwarded_from: str | None = None  # a public channel's handle or a marker, never a person
    is_promo: bool | None = None  # marked as advertising by the platform

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.post_id)

    def __reduce__(self) -> tuple[type[PostItem], tuple[Any, ...]]:
        # Items cross a pipe to the writer processes by the thousand: a tuple of the fields
        # pickles ~2.5x faster than slots dataclasses' own state (a list built via fields()).
        return (PostItem, _post_item_fields(self))

    @property
    def classify_text(self) -> str:
        """What classifiers read: own text plus the reposted original, if any."""
        if self.extra_text:
            return f"{self.text}\n{self.extra_text}" if self.text else self.extra_text
        return self.text


@dataclass(slots=True, frozen=True)
class TargetReport:
    """What happened to one target in a crawl: yielded by spiders, stored with the run."""

    platform: str
    source: str
    target: str
    status: str  # ok | inaccessible | rate-limited | error
    reason: str | None = None
    newest_post_id: str | None = None
    newest_published_at: datetime | None = None
    complete: bool = False
    collected: int = 0
    observed: int = 0  # posts the platform showed (collected or skipped by window/resume point)
    pages: int = 0  # answers read for the target (a page with no post in it counts too)
    signal: str | None = None  # what the spider knew: "token-rejected" (crawler.health)


# PostItem's fields in order: what PostItem.__reduce__ passes back to the constructor.
_post_item_fields = attrgetter(*(f.name for f in fields(PostItem)))
