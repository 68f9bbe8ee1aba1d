"""Fields every source shares, whatever its platform; each platform's rules extend this model."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def as_utc(value: datetime | date | None) -> datetime | None:
    """Dates mean midnight UTC; naive datetimes are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SourceRules(BaseModel):
    """One named source: a platform, its targets, searches and time window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    platform: str
    targets: list[str] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None

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
