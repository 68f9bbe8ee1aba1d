"""Arguments and options shared by the `vemeter` commands (kept apart so sub-commands import it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from crawler.rules_base import as_utc

__all__ = ["ConfigArg", "SinceOpt", "UntilOpt", "parse_by", "parse_date"]

ConfigArg = Annotated[
    Path, typer.Argument(help="Project config (YAML), e.g. configs/example.yaml.")
]

SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Only posts published at or after this date (UTC).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Only posts published before this date (UTC).")
]


def parse_date(value: str | None) -> datetime | None:
    """A --since/--until value as an aware UTC datetime; a bad value is a usage error."""
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)"
        ) from None


def parse_by(value: str, allowed: Sequence[str], verb: str) -> list[str]:
    """The keys of a --by list ("platform,language"); an unknown key is a usage error."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    bad = [key for key in keys if key not in allowed]
    if bad:
        raise typer.BadParameter(
            f"cannot {verb} by {', '.join(bad)} (use any of: {','.join(allowed)})",
            param_hint="--by",
        )
    return keys
