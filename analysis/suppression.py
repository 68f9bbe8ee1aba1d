"""Small-cell suppression: counts below a threshold are published as "<k", never exactly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["is_hidden", "suppress"]


def is_hidden(count: int, min_cell: int) -> bool:
    """The suppression rule: a count from 1 to min_cell - 1 is never published exactly (0 is)."""
    return 0 < count < min_cell


def suppress(
    rows: Iterable[dict[str, Any]],
    counts: Sequence[str],
    min_cell: int,
    *,
    derived: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Copy rows with every count below min_cell replaced by the string "<min_cell".

    A zero is kept: it discloses nothing. When a count is suppressed, the `derived` columns
    (e.g. a point estimate that would give the count back) become None, and each row says
    whether anything was suppressed in a `suppressed` column. min_cell 0 or 1 changes nothing
    except adding that column.
    """
    marker = f"<{min_cell}"
    result: list[dict[str, Any]] = []
    for row in rows:
        copy = dict(row)
        hidden = False
        for column in counts:
            value = copy.get(column)
            if isinstance(value, int) and is_hidden(value, min_cell):
                copy[column] = marker
                hidden = True
        if hidden:
            for column in derived:
                if column in copy:
                    copy[column] = None
        copy["suppressed"] = hidden
        result.append(copy)
    return result
