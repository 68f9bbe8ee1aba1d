"""An attacker for published tables: recover hidden counts with integer programming.

Independent of analysis.suppression (which audits with linear programmes while it suppresses):
this one takes what an output shows, as a reader would parse it, and for each hidden count asks
an integer solver for its smallest and largest value consistent with everything published. A
hidden count whose smallest and largest value agree is recovered.

What the attacker knows: the rows of the finest table (a row not listed has no posts), every
visible count of every table, what each marker says ("<k": 1..k-1, "x": k or more, a null:
1 or more) and that flagged posts are posts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from analysis.intervals import wilson_interval

Row = Mapping[str, Any]


def _bounds(value: Any, k: int) -> tuple[float, float]:
    if isinstance(value, int):
        return float(value), float(value)
    if value == f"<{k}":
        return 1.0, float(k - 1)
    if value == "x":
        return float(k), math.inf
    if value is None or value == "":
        return 1.0, math.inf  # hidden, kind unknown (JSON null, Parquet null)
    raise AssertionError(f"unexpected published count {value!r}")


def recover(
    tables: Mapping[tuple[str, ...], Sequence[Row]],
    columns: Sequence[str],
    min_cell: int,
    *,
    at_most: Sequence[tuple[str, str]] = (("flagged", "posts"),),
    universe: tuple[tuple[str, ...], Sequence[tuple[str, ...]]] | None = None,
) -> list[tuple[tuple[str, ...], tuple[str, ...], str, int]]:
    """(table keys, key values, column, value) of every hidden count that is pinned.

    universe: the finest keys and every combination of them that may hold posts; by default
    the rows of the table with most keys (whose unlisted combinations hold none).
    """
    if universe is None:
        finest = max(tables, key=len)
        cells = [tuple(str(r[k]) for k in finest) for r in tables[finest]]
    else:
        finest, cells = universe[0], list(universe[1])
    index = {
        (i, c): n for n, (i, c) in enumerate((i, c) for i in range(len(cells)) for c in columns)
    }
    size = len(index)
    rows_a: list[np.ndarray] = []
    lows: list[float] = []
    highs: list[float] = []
    hidden: list[tuple[tuple[tuple[str, ...], tuple[str, ...], str], np.ndarray]] = []
    for keys, rows in tables.items():
        assert set(keys) <= set(finest), (keys, finest)
        positions = [finest.index(k) for k in keys]
        for row in rows:
            key = tuple(str(row[k]) for k in keys)
            members = [
                i for i, cell in enumerate(cells) if tuple(cell[p] for p in positions) == key
            ]
            for c in columns:
                if row.get(c, "?") == "?":
                    continue  # this table says nothing of this count
                vec = np.zeros(size)
                for i in members:
                    vec[index[(i, c)]] = 1.0
                lo, hi = _bounds(row[c], min_cell)
                rows_a.append(vec)
                lows.append(lo)
                highs.append(hi)
                if lo != hi:
                    hidden.append(((keys, key, c), vec))
    for small, big in at_most:
        if small in columns and big in columns:
            for i in range(len(cells)):
                vec = np.zeros(size)
                vec[index[(i, small)]], vec[index[(i, big)]] = 1.0, -1.0
                rows_a.append(vec)
                lows.append(-math.inf)
                highs.append(0.0)
    constraint = LinearConstraint(np.array(rows_a), np.array(lows), np.array(highs))
    bounds = Bounds(np.zeros(size), np.full(size, np.inf))
    integral = np.ones(size)
    recovered: list[tuple[tuple[str, ...], tuple[str, ...], str, int]] = []
    for label, vec in hidden:
        low = milp(vec, constraints=constraint, bounds=bounds, integrality=integral)
        high = milp(-vec, constraints=constraint, bounds=bounds, integrality=integral)
        assert low.status == 0, (label, low.message)
        if high.status != 0:  # unbounded above: not recovered
            continue
        if round(low.fun) == round(-high.fun):
            recovered.append((*label, round(low.fun)))
    return recovered


def wilson_inverse(low: float, high: float, rate: float, most: int) -> tuple[int, int]:
    """(flagged, posts) whose flag rate and Wilson interval a chart point shows."""
    found = [
        (x, n)
        for n in range(1, most + 1)
        for x in ({round(rate * n)} & set(range(n + 1)))
        if np.allclose(wilson_interval(x, n), (low, high), atol=1e-9)
    ]
    assert len(found) == 1, (low, high, rate, found)
    return found[0]
