"""Designations by jurisdiction and date: which lists an organisation family was on, and when.

A designated_org mention counts when the family it names was designated, on the post's UTC
date, in a jurisdiction the project chose (`classifier.designations`). The table is
configs/designations.yaml; its format is the Designation model below.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from classifiers import yaml_text

__all__ = [
    "DEFAULT_CHOICE",
    "DEFAULT_DESIGNATIONS",
    "Designation",
    "DesignationError",
    "DesignationTable",
    "Designations",
]

DEFAULT_DESIGNATIONS = Path(__file__).resolve().parents[1] / "configs" / "designations.yaml"
# UN plus the region's states: what a study of Central Asia counts unless it says otherwise.
DEFAULT_CHOICE: tuple[str, ...] = ("un", "kz", "kg", "tj", "uz", "tm")


class _Loader(yaml_text.SafeLoader):  # type: ignore[misc,valid-type]
    """YAML without implicit dates: `_day` reads them, so an impossible one gets a clear error."""


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml_text.SafeLoader.yaml_implicit_resolvers.items()
}

_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class DesignationError(ValueError):
    """The designation table is missing or invalid: `path: key: problem (fix)`."""


def _day(value: object) -> date | None:
    """A listing date: a date, YYYY-MM (the month's first day) or null (known, date not found)."""
    if value is None or isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    text = str(value)
    if _MONTH_RE.match(text):
        return date.fromisoformat(f"{text}-01")
    return date.fromisoformat(text)


class Designation(BaseModel):
    """One listing: where, since when (None: date not found, counted always), until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdiction: Key
    listed: date | None
    delisted: date | None = None
    source: str = Field(min_length=1)

    def in_force(self, day: date) -> bool:
        """Whether the listing applied on day."""
        if self.listed is not None and day < self.listed:
            return False
        return self.delisted is None or day < self.delisted


class DesignationTable(BaseModel):
    """The whole table: jurisdictions with their names, and each family's listings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdictions: dict[Key, str]
    families: dict[Key, list[Designation]]

    @classmethod
    def load(cls, path: Path = DEFAULT_DESIGNATIONS) -> DesignationTable:
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, yaml.YAMLError) as exc:
            raise DesignationError(f"{path}: cannot be read: {exc} (check the file)") from None
        if not isinstance(raw, dict):
            raise DesignationError(f"{path}: not a mapping (see configs/designations.yaml)")
        for listings in (raw.get("families") or {}).values():
            for listing in listings or []:
                if isinstance(listing, dict):
                    for key in ("listed", "delisted"):
                        try:
                            listing[key] = _day(listing.get(key))
                        except ValueError:
                            raise DesignationError(
                                f"{path}: {key}: {listing.get(key)!r} is not a date "
                                "(write YYYY-MM-DD, YYYY-MM or null)"
                            ) from None
        try:
            table = cls.model_validate(raw)
        except ValidationError as exc:
            problems = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise DesignationError("\n".join(problems)) from None
        for family, listings in table.families.items():
            for listing in listings:
                if listing.jurisdiction not in table.jurisdictions:
                    raise DesignationError(
                        f"{path}: families.{family}: unknown jurisdiction "
                        f"{listing.jurisdiction!r} (add it under jurisdictions)"
                    )
        return table

    def digest(self) -> str:
        """First 8 hex digits of a SHA-256 over the table (sources included: they are claims)."""
        data = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:8]


class Designations:
    """The table seen through a project's choice of jurisdictions."""

    def __init__(
        self, choice: Sequence[str] = DEFAULT_CHOICE, table: DesignationTable | None = None
    ) -> None:
        self.table = table or DesignationTable.load()
        unknown = sorted(set(choice) - set(self.table.jurisdictions))
        if unknown:
            known = ", ".join(sorted(self.table.jurisdictions))
            raise DesignationError(
                f"unknown jurisdiction {', '.join(map(repr, unknown))} in classifier.designations "
                f"(use any of: {known})"
            )
        self.choice = tuple(sorted(set(choice)))
        # Short (stored tag versions are 32 characters at most): which lists, and which table.
        chosen = hashlib.sha256(f"{'+'.join(self.choice)}/{self.table.digest()}".encode())
        self.version = f"lists-{chosen.hexdigest()[:8]}"

    def lists(self, family: str, when: date | datetime) -> tuple[str, ...] | None:
        """The chosen jurisdictions whose list held family on that (UTC) day; () if none.

        None for a family the table does not cover (a project's own lexicon): then the
        lexicon's `layer` decides (national_only does not count, other layers do).
        """
        listings = self.table.families.get(family)
        if listings is None:
            return None
        day = when.date() if isinstance(when, datetime) else when
        return tuple(
            sorted(
                {
                    listing.jurisdiction
                    for listing in listings
                    if listing.jurisdiction in self.choice and listing.in_force(day)
                }
            )
        )
