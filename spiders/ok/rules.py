"""The config model of an OK source: which public groups, which keys (by env name), how fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from crawler.rules_base import Problem, SourceRules, env_name

_URL = re.compile(
    r"^(?:https?://)?(?:www\.|m\.)?(?:ok\.ru|odnoklassniki\.ru)/([^?#]*?)/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_GROUP_PATH = re.compile(r"^group/?(\d+)(?:/.*)?$", re.IGNORECASE)
_SHORTNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
# First path segments of ok.ru pages that are not groups: a typo guard, not a full list.
_NOT_GROUPS = frozenset(
    {"profile", "group", "groups", "dk", "search", "video", "music", "game", "games", "app"}
    | {"apps", "feed", "messages", "friends", "photos", "settings", "live", "help", "topic"}
)


def normalise_target(raw: str) -> str:
    """A group id (`57…`), group URL or short name, as the stored target: the id or the name."""
    value = raw.strip()
    url = _URL.match(value)
    if url:
        path = url.group(1)
        group = _GROUP_PATH.match(path)
        if group:
            return group.group(1)
        if "/" in path or path.lower() in _NOT_GROUPS or not _SHORTNAME.match(path):
            raise ValueError(
                f"{raw!r} is not an OK group address (write https://ok.ru/group/<id> or "
                "https://ok.ru/<short name>)"
            )
        return path
    if value.isdigit() or _SHORTNAME.match(value):
        return value
    raise ValueError(
        f"{raw!r} is not an OK group (write a numeric group id, https://ok.ru/group/<id>, "
        "https://ok.ru/<short name> or the short name alone)"
    )


class OKRules(SourceRules):
    """An OK source: public group topics through the official REST API (platforms.md §2)."""

    platform: Literal["ok"]
    numeric_targets = True  # a group id
    app_key_env: str = Field(
        "OK_APP_KEY", description="environment variable holding the application key (public)"
    )
    app_secret_env: str = Field(
        "OK_APP_SECRET", description="environment variable holding the application secret key"
    )
    token_env: str = Field(
        "OK_TOKEN", description="environment variable holding the application's access token"
    )
    api_base: str = Field("https://api.ok.ru/fb.do", description="OK REST endpoint (fb.do)")
    # OK documents no numeric limit; platforms.md §2.7 sets ≤ 1 request/s per application key
    # as the default, and flood protection (error 8) blocks an application for a while.
    requests_per_second: float = Field(
        1.0,
        ge=0,
        description="per application key, across all requests; 0 lifts the limit (local tests only)",
    )
    # The maximum `count` of mediatopic.getTopics is not confirmed (§2.10); 100 is the usual cap.
    page_size: int = Field(50, ge=1, le=100)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(normalise_target(t) for t in value))

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+/(?:\S*/)?fb\.do$", value.rstrip("/")):
            raise ValueError(
                f"{value!r} is not an OK REST endpoint URL (e.g. https://api.ok.ru/fb.do)"
            )
        return value.rstrip("/")

    @field_validator("app_key_env")
    @classmethod
    def _app_key_env(cls, value: str) -> str:
        return env_name(value, "OK_APP_KEY", "application key")

    @field_validator("app_secret_env")
    @classmethod
    def _app_secret_env(cls, value: str) -> str:
        return env_name(value, "OK_APP_SECRET", "secret key")

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        return env_name(value, "OK_TOKEN", "token")

    def secret_envs(self) -> dict[str, str]:
        return {
            self.app_key_env: f"the OK application key of source {self.name!r} (from the e-mail OK sends when the app is registered)",
            self.app_secret_env: f"the OK application secret key of source {self.name!r} (same e-mail)",
            self.token_env: f"the OK access token of source {self.name!r} (from the app's settings on ok.ru)",
        }

    def cross_problems(self) -> Iterator[Problem]:
        yield from super().cross_problems()
        if self.searches:
            yield (
                ("searches",),
                (
                    "OK sources have no keyword search (the REST API offers none for public "
                    "topics); list groups under `targets` instead"
                ),
            )
        if not self.targets:
            yield ("targets",), "an OK source needs `targets` (public group ids or ok.ru addresses)"
        envs = ("app_key_env", "app_secret_env", "token_env")
        if len({getattr(self, e) for e in envs}) != 3:
            yield (
                envs,
                ("app_key_env, app_secret_env and token_env must name three different variables"),
            )
