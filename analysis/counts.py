"""Counts per group with week and month as time units, and the published (suppressed) tables.

`storage.stats.count_posts` groups by day; a week (Monday to Sunday, shown as the date of its
Monday) or a calendar month (shown as YYYY-MM) is the sum of its days: a post has one day, so
the sums count each post once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from analysis.suppression import Exposed, Layout, protect_lattice
from storage.stats import GROUP_KEYS, count_posts

__all__ = [
    "ADDITIVE_KEYS",
    "COUNT_LAYOUT",
    "KEYS",
    "TIME_UNITS",
    "bin_start",
    "count_groups",
    "protected_counts",
    "time_key",
]

TIME_UNITS = ("day", "week", "month")
KEYS = (*GROUP_KEYS, "week", "month")
# A post counts under each of its topics, so counts do not add up along topic.
ADDITIVE_KEYS = frozenset(k for k in KEYS if k != "topic")
COUNT_LAYOUT = Layout(("posts", "flagged"), ADDITIVE_KEYS, at_most=(("flagged", "posts"),))


def time_key(keys: Sequence[str]) -> str | None:
    """The one time unit among keys (None without one); ValueError for two."""
    units = [k for k in keys if k in TIME_UNITS]
    if len(units) > 1:
        raise ValueError(f"group by one time unit at a time, not {' and '.join(units)}")
    return units[0] if units else None


def bin_start(day: date, unit: str) -> date:
    """The first day of the week (Monday) or month that holds day."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _label(day: date, unit: str) -> str:
    start = bin_start(day, unit)
    return f"{start:%Y-%m}" if unit == "month" else start.isoformat()


def count_groups(
    engine: Engine,
    keys: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """count_posts with `week` and `month` as keys too: sums of days, in key order."""
    unit = time_key(keys)
    if unit in (None, "day"):
        return count_posts(engine, list(keys), since=since, until=until)
    base = ["day" if k == unit else k for k in keys]
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in count_posts(engine, base, since=since, until=until):
        values = {
            k: _label(date.fromisoformat(str(row["day"])), unit) if k == unit else row[k]
            for k in keys
        }
        key = tuple(values[k] for k in keys)
        total = sums.setdefault(key, {**values, "posts": 0, "flagged": 0})
        total["posts"] += int(row["posts"])
        total["flagged"] += int(row["flagged"])
    return [sums[key] for key in sorted(sums, key=lambda t: tuple(str(v) for v in t))]


def protected_counts(
    engine: Engine,
    keys: Sequence[str],
    min_cell: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    exposed: list[Exposed] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(true rows, published rows) of the table by keys: posts and flagged suppressed with the
    coarser tables they add up to (analysis.suppression); `exposed` gets the hidden counts the
    coarser tables give away whatever is hidden."""
    cache: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def table(subset: tuple[str, ...]) -> list[dict[str, Any]]:
        if subset not in cache:
            cache[subset] = count_groups(engine, subset, since=since, until=until)
        return cache[subset]

    keys = tuple(keys)
    if min_cell <= 1:
        rows = table(keys)
        return rows, [dict(r) for r in rows]
    lattice = protect_lattice(keys, COUNT_LAYOUT, min_cell, table, exposed)
    return table(keys), lattice[keys]
