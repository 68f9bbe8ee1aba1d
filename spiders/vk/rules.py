"""The config model of a VK source: which communities and searches, which window, how fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from crawler.rules_base import Problem, SourceRules, env_name

_TARGET = re.compile(r"^(?:-\d+|(?:club|public|event)\d+|[A-Za-z][A-Za-z0-9_.]{1,63})$")
_URL = re.compile(r"^(?:https?://)?(?:m\.)?vk\.(?:com|ru)/([^/?#]+)/?$")


def normalise_target(raw: str) -> str:
    """Turn a target as people write it (URL, club123, -123, name) into the stored form."""
    value = raw.strip()
    url = _URL.match(value)
    if url:
        value = url.group(1)
    if value.isdigit():
        value = f"-{value}"
    if not _TARGET.match(value):
        raise ValueError(
            f"{raw!r} is not a VK community (write -123, club123, public123, a screen name "
            "or a vk.com/… address)"
        )
    return value


class VKRules(SourceRules):
    """A VK source: public community walls and keyword searches through the official API."""

    platform: Literal["vk"]
    numeric_targets = True  # -123 is a community id
    token_env: str = Field(
        "VK_TOKEN", description="environment variable holding the VK service token"
    )
    api_base: str = Field("https://api.vk.ru/method", description="VK API base URL")
    api_version: str = "5.199"
    requests_per_second: float = Field(
        3.0,
        ge=0,
        description="per token, across all requests; 0 lifts the limit (local tests only)",
    )
    page_size: int = Field(100, ge=1, le=100)
    search_page_size: int = Field(200, ge=1, le=200)
    wall_filter: Literal["all", "owner"] = "all"

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        return [normalise_target(t) for t in value]

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. https://api.vk.ru/method)")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        return env_name(value, "VK_TOKEN", "token")

    def secret_envs(self) -> dict[str, str]:
        return {
            self.token_env: f"the VK service token of source {self.name!r} (from your VK app's settings)"
        }

    def cross_problems(self) -> Iterator[Problem]:
        yield from super().cross_problems()
        if not self.targets and not self.searches:
            yield ("targets", "searches"), "a VK source needs `targets` or `searches` (or both)"
