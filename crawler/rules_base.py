"""Fields every source shares, whatever its platform; each platform's rules extend this model."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, time
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRETISH = re.compile(r"^[A-Za-z0-9_\-.~+/=:]{20,}$")
HIDDEN = "(a value that looks like a secret, not shown)"
# Validation context key: leave the checks between fields to the caller (crawler.config), which
# reports each of them on a line of its own, also when other fields of the source are invalid.
PARTIAL = "vemeter_partial"
Problem = tuple[tuple[str, ...], str]  # (the fields a problem concerns, what is wrong)


def looks_secret(value: object) -> bool:
    """A token or key pasted where a name belongs: long, no spaces, letters and digits mixed.

    Environment variable names (upper case) and URLs are not; neither is anything short.
    """
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not _SECRETISH.match(text) or "://" in text or _ENV_NAME.match(text):
        return False
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def as_utc(value: datetime | date | None) -> datetime | None:
    """Dates mean midnight UTC; naive datetimes are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def env_name(value: str, example: str, holds: str) -> str:
    """`value` if it is an environment variable's name; a config must never hold the secret itself.

    A value that looks like the secret is never repeated in the message.
    """
    if not _ENV_NAME.match(value):
        shown = HIDDEN if looks_secret(value) else repr(value)
        raise ValueError(
            f"{shown} is not an environment variable name (upper-case letters, digits, _); put "
            f"the NAME of the variable here (e.g. {example}), never the {holds} itself"
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
    schedule: str | None = Field(
        None, description='cron expression (UTC) for `vemeter run`, e.g. "0 */6 * * *"'
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
            return _in_utc(value)
        return value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _in_utc(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        from crawler.schedule import check_cron

        return None if value is None else check_cron(value)

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

    def cross_problems(self) -> Iterator[Problem]:
        """Every problem between fields, each with the fields it concerns; platforms add theirs."""
        if self.since and self.until and self.since >= self.until:
            yield ("since", "until"), "`since` must be earlier than `until`"

    def problems_among(self, valid: Collection[str] | None = None) -> list[str]:
        """The cross-field problems whose fields are all in `valid` (default: every field)."""
        return [
            message
            for fields, message in self.cross_problems()
            if valid is None or all(f in valid for f in fields)
        ]

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if isinstance(info.context, dict) and info.context.get(PARTIAL):
            return self  # the caller reports problems_among() itself
        problems = self.problems_among()
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _in_utc(value: datetime | date | None) -> datetime | None:
    try:
        return as_utc(value)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the calendar once in UTC
        raise ValueError(f"{value} is beyond the calendar once in UTC") from None
