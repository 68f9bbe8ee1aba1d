"""Fields every source shares, whatever its platform; each platform's rules extend this model."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def as_utc(value: datetime | date | None) -> datetime | None:
    """Dates mean midnight UTC; naive datetimes are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def env_name(value: str, example: str, holds: str) -> str:
    """`value` if it is an environment variable's name; a config must never hold the secret itself."""
    if not _ENV_NAME.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name; put the NAME of the variable "
            f"here (e.g. {example}), never the {holds} itself"
        )
    return value


class SourceRules(BaseModel):
    """One named source: a platform, its targets, searches and time window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    platform: str
    targets: list[str] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    max_posts_per_target: int | None = Field(
        None, ge=1, description="stop paging a target after this many posts (the newest)"
    )

    # Platforms whose targets may be bare numbers (VK community ids, OK group ids) set this.
    numeric_targets: ClassVar[bool] = False

    @field_validator("targets", mode="before")
    @classmethod
    def _numbers_are_ids(cls, value: object) -> object:
        # YAML reads -123 or a bare group id as a number; it is an id all the same.
        if cls.numeric_targets and isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("since", "until", mode="before")
    @classmethod
    def _dates(cls, value: object) -> object:
        if isinstance(value, date | datetime):
            return as_utc(value)
        return value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)

    @field_validator("searches")
    @classmethod
    def _searches(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError("a search must not be empty")
        return cleaned

    def secret_envs(self) -> dict[str, str]:
        """Environment variables this source needs, each with what it holds (checked before a crawl)."""
        return {}

    @model_validator(mode="after")
    def _window(self) -> SourceRules:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("`since` must be earlier than `until`")
        return self
