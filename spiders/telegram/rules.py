"""The config model of a Telegram source: which public channels, which window, how fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from crawler.rules_base import Problem, SourceRules

# Telegram usernames: a letter, then letters, digits and underscores; 5-32 characters for new
# ones, but a few short (4-character) collectible names exist, so 4 is accepted.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?([^/?#]+)(?:/\d+)?/?(?:[?#].*)?$"
)
_INVITE = re.compile(r"(?:^|/)(?:\+|joinchat(?:/|$))", re.IGNORECASE)


def normalise_target(raw: str) -> str:
    """Turn a channel as people write it (@name, t.me/name, t.me/s/name) into its bare username."""
    value = raw.strip()
    if _INVITE.search(value.removeprefix("@")):
        raise ValueError(
            f"{raw!r} is an invite link to a private chat; vemeter collects public channels "
            "only (write the channel's public @username)"
        )
    url = _URL.match(value)
    if url:
        value = url.group(1)
    value = value.removeprefix("@")
    if not _USERNAME.match(value):
        raise ValueError(
            f"{raw!r} is not a public Telegram channel (write name, @name, t.me/name or "
            "https://t.me/s/name)"
        )
    # Usernames are case-insensitive: one spelling per channel keeps targets and keys stable.
    return value.lower()


class TelegramRules(SourceRules):
    """A Telegram source: public channels read through the web preview at t.me/s/<channel>."""

    platform: Literal["telegram"]
    base_url: str = Field("https://t.me", description="web preview host (tests: a local fake)")
    requests_per_second: float = Field(
        1.0, ge=0, description="per host, across all requests; 0 lifts the limit (local tests only)"
    )

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        names = [normalise_target(t) for t in value]
        return list(dict.fromkeys(names))  # @Name and t.me/name are one channel, crawled once

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+/?$", value):
            raise ValueError(f"{value!r} is not an http(s) host URL (e.g. https://t.me)")
        return value.rstrip("/")

    def cross_problems(self) -> Iterator[Problem]:
        yield from super().cross_problems()
        if self.searches:
            yield (
                ("searches",),
                (
                    "telegram sources do not support `searches` (the web preview has no global "
                    "search); list channels under `targets` instead"
                ),
            )
        if not self.targets:
            yield ("targets",), "a telegram source needs `targets` (public channel usernames)"
